"""JSON Schemas of what the edge accepts, read off the pydantic models and the rules that validate
(`schemas.py`, `requests.py`, `rules.py`), for the OpenAPI document: a value valid here is one the
edge takes, and one invalid here one it refuses, so a generated client or a fuzzer can trust it.

What pydantic's own schema leaves out, and these say: text is stripped of surrounding whitespace
before its length and pattern are checked; no string or key anywhere in a JSON body may hold a NUL
(PostgreSQL cannot store it); unknown fields are ignored; numbers may come as text, a phone as a
number. (A ruleGroup's schemas are `rule_schemas`'.) What JSON Schema cannot say (an
order's amount is the sum of its items, `sendAt` lies ahead, ids name things that exist) each
schema's description says."""

from __future__ import annotations

import zoneinfo
from typing import Any

from pydantic import TypeAdapter

from minicrm.edge import schemas

REF = "#/components/schemas/{model}"
# Unicode White_Space: what pydantic's `str_strip_whitespace` (Rust's `trim`) takes off both ends.
SPACE = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PAD = f"[{SPACE}]*"
CONTROL = r"\x00-\x1f\x7f-\x9f"
# (any character, any but whitespace) of one line (`schemas.ONE_LINE`), and of free text (no NUL).
LINE = (f"[^{CONTROL}]", rf"[^{CONTROL} \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
FREE = (r"[^\x00]", rf"[^\x00{SPACE}]")
EMAIL_CHAR = rf"[^@{CONTROL} \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NO_NUL = {"type": "string", "pattern": r"^[^\x00]*$"}
JSON = {"$ref": REF.format(model="Json")}
# What pydantic's lax mode reads as a boolean: also 0 and 1, and words of either case.
WORDS = ("0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes")
LAX_BOOLEAN = [
    {"type": "boolean"},
    {"type": "integer", "enum": [0, 1]},
    {"type": "string", "pattern": "^(?:" + "|".join("".join(f"[{c}{c.upper()}]" for c in w) for w in WORDS) + ")$"},
]
JSON_DEPTH = 1
TEMPLATE_TOKEN = r"\{\{(?:" + "|".join(schemas.templating.PLACEHOLDERS) + r")\}\}"


def trimmed(min_length: int = 0, max_length: int | None = None, chars: tuple[str, str] = FREE) -> dict[str, Any]:
    """Text whose stripped value is `min_length` to `max_length` of `chars`: one pattern, as the
    length counts after stripping and so cannot be a maxLength of the value sent."""
    any_char, solid = chars
    if max_length is None:
        core = (
            f"{solid}{any_char}{{{max(min_length - 2, 0)},}}{solid}"
            if min_length >= 2
            else f"{solid}(?:{any_char}*{solid})?"
        )
    elif max_length == 1:
        core = solid
    elif min_length >= 2:
        core = f"{solid}{any_char}{{{min_length - 2},{max_length - 2}}}{solid}"
    else:
        core = f"{solid}(?:{any_char}{{0,{max_length - 2}}}{solid})?"
    return {"type": "string", "pattern": f"^{PAD}{core if min_length else f'(?:{core})?'}{PAD}$"}


def email() -> dict[str, Any]:
    # A subset where it must be: the 254 characters are counted after stripping.
    return {
        "type": "string",
        "maxLength": 254,
        "pattern": f"^{PAD}{EMAIL_CHAR}+@{EMAIL_CHAR}+\\.{EMAIL_CHAR}+{PAD}$",
        "description": "lower-cased as stored",
    }


PATTERNS = {
    schemas.ONE_LINE: lambda s: trimmed(s.get("minLength", 0), s.get("maxLength"), LINE),
    schemas.EMAIL: lambda s: email(),
    schemas.PHONE: lambda s: {"type": "string", "pattern": f"^{PAD}(?:[0-9]{{10}})?{PAD}$"},
    schemas.UUID_TEXT: lambda s: {"type": "string", "pattern": f"^{PAD}{schemas.UUID_TEXT[1:-1]}{PAD}$"},
}


def _string(schema: dict[str, Any]) -> dict[str, Any]:
    """A plain string of pydantic's schema as the edge reads it: stripped, no NUL."""
    if "format" in schema or "enum" in schema or "const" in schema:
        return schema
    kept = {k: v for k, v in schema.items() if k in ("title", "description", "default")}
    pattern = schema.get("pattern")
    if pattern in PATTERNS:
        return {**kept, **PATTERNS[pattern](schema)}
    if pattern is not None:  # a model's own, anchored at both ends: matched once stripped
        assert pattern.startswith("^") and pattern.endswith("$") and "minLength" not in schema, pattern
        return {**kept, "type": "string", "pattern": f"^{PAD}(?:{pattern[1:-1]}){PAD}$"}
    return {**kept, **trimmed(schema.get("minLength", 0), schema.get("maxLength"))}


def accepted(schema: Any) -> Any:
    """Pydantic's (validation) schema of a model rewritten to what the edge accepts."""
    if isinstance(schema, list):
        return [accepted(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "string":
        return _string(schema)
    if schema.get("type") == "integer" and {"minimum", "exclusiveMinimum"} & set(schema):
        return lax_integer(schema)
    if schema.get("type") == "boolean":
        return {**{k: v for k, v in schema.items() if k != "type"}, "anyOf": LAX_BOOLEAN}
    out = {key: accepted(value) for key, value in schema.items()}
    if out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = JSON  # ignored, as long as it holds no NUL
        out["propertyNames"] = NO_NUL
    return out


def model(cls: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the model's schema, the schemas it refers to) as the edge accepts them."""
    schema = TypeAdapter(cls).json_schema(ref_template=REF)
    definitions = schema.pop("$defs", {})
    return accepted(schema), {name: accepted(s) for name, s in definitions.items()}


def number_text(digits: int, fraction: int = 6) -> dict[str, Any]:
    """A non-negative number written as text, as pydantic's lax mode reads one (a subset of it)."""
    return {"type": "string", "pattern": f"^[0-9]{{1,{digits}}}(?:\\.[0-9]{{1,{fraction}}})?$"}


def lax_integer(schema: dict[str, Any]) -> dict[str, Any]:
    """A bounded integer as pydantic's lax mode reads one: also `true` and `false` (1 and 0) where
    in bounds, and the digits as text (with a sign, leading zeros, `.0`, whitespace around; not
    with Python's `_` between digits, which it reads too)."""
    low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
    high = schema.get("maximum", schema.get("exclusiveMaximum", 0) - 1)
    flags = [{"const": value == 1} for value in (0, 1) if low <= value <= high]
    digits = f"0*(?:{up_to(high)})"
    if low > 0:  # not the numbers below `low`
        digits = f"(?!0*(?:{'|'.join(map(str, range(low)))})(?:\\.0+)?{PAD}$){digits}"
    zero = "|-0+" if low <= 0 else ""
    text = {"type": "string", "pattern": f"^{PAD}(?:\\+?{digits}{zero})(?:\\.0+)?{PAD}$"}
    return {"anyOf": [schema, *flags, text]}


def up_to(high: int) -> str:
    """A regular expression of the decimal numbers from 0 to `high` (no leading zeros)."""
    digits = str(high)
    parts = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        low = "1" if i == 0 and len(digits) > 1 else "0"
        if digit > low:
            parts.append(f"{digits[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(digits) - i - 1}}}")
    parts.append(digits)
    return "|".join(parts)


def unix_time() -> dict[str, Any]:
    return {
        "type": "number",
        "minimum": -62_135_596_800_000,
        "maximum": 253_402_300_799_999,
        "description": "Unix time: seconds, or milliseconds past 2e10 (as pydantic reads a number for a date)",
    }


def lax(components: dict[str, Any]) -> None:
    """What pydantic's lax mode accepts beside the JSON type its schema names, where clients send it."""
    phone = components["CustomerIn"]["properties"]["phone"]
    phone["anyOf"].append({"type": "integer", "minimum": 10**9, "maximum": 10**10 - 1})
    item = components["OrderItemIn"]["properties"]
    for money in (item["unitPrice"], item["total"], components["OrderIn"]["properties"]["amount"]):
        money["anyOf"][1] = number_text(11)
    order = components["OrderIn"]["properties"]
    order["id"] = {"anyOf": [order["id"], {"type": "integer"}], "description": "a number is read as its text"}
    order["order_date"]["anyOf"].insert(1, unix_time())
    rate = components["CampaignIn"]["properties"]["ratePerSecond"]
    rate["anyOf"][1:1] = [{"const": True}, {"type": "string", "pattern": "^0*[1-9][0-9]{0,5}(?:\\.[0-9]{1,6})?$"}]
    campaign = components["CampaignIn"]["properties"]
    if "weights" in campaign:  # each above 0, at most a million
        weight = {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000}
        shares = [weight, {"const": True}, {"type": "string", "pattern": r"^0*[1-9][0-9]{0,5}(?:\.[0-9]{1,6})?$"}]
        campaign["weights"]["anyOf"][0]["items"] = {"anyOf": shares}
    future = "ahead of now (at most 5 minutes behind it): a campaign is scheduled, never back-dated"
    campaign_send_at = components["CampaignIn"]["properties"]["sendAt"]
    campaign_send_at["anyOf"].insert(1, unix_time())
    campaign_send_at["description"] += "; " + future
    reschedule = components["RescheduleIn"]["properties"]
    reschedule["sendAt"] = {"anyOf": [reschedule["sendAt"], unix_time()], "description": future}
    names = "|".join(zone.replace("+", r"\+") for zone in sorted(zoneinfo.available_timezones()))
    # A pattern, not an enum: the fuzzer's coverage phase would send each of the six hundred names.
    zones = {"type": "string", "pattern": f"^{PAD}(?:{names}){PAD}$", "description": "an IANA time zone"}
    for schema in components.values():
        properties = schema.get("properties", {})
        if "message" in properties:  # every message template
            properties["message"] = _with_string(properties["message"], message())
        if "timezone" in properties:  # `schemas.TimeZone`: a zone ZoneInfo knows
            properties["timezone"] = _with_string(properties["timezone"], zones)


def _with_string(schema: dict[str, Any], text: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its string (itself, or a branch of its anyOf) replaced by `text`."""
    if "anyOf" in schema:
        return {**schema, "anyOf": [text if s.get("type") == "string" else s for s in schema["anyOf"]]}
    return {**{k: v for k, v in schema.items() if k in ("title", "description")}, **text}


def message() -> dict[str, Any]:
    """A message template: text and the placeholders `templating` knows (a subset: braces only in
    placeholders, written without spaces), at most 2000 characters once stripped: one pattern for
    each, as a placeholder is one step of the first and eight characters of the second."""
    solid = rf"(?:[^{{}}\x00{SPACE}]|{TEMPLATE_TOKEN})"
    return {
        "type": "string",
        "pattern": rf"^{PAD}{solid}(?:[^{{}}\x00]|{TEMPLATE_TOKEN})*$",
        "allOf": [{"pattern": trimmed(1, 2000)["pattern"]}],
        "description": "text with placeholders " + ", ".join(f"{{{{{p}}}}}" for p in schemas.templating.PLACEHOLDERS),
    }


def json_without_nul(depth: int = JSON_DEPTH) -> dict[str, Any]:
    """Any JSON value without a NUL in a string or a key, said `depth` levels deep: the schemas
    `Json0` (anything) to `Json{depth}` (`Json`). The edge refuses a NUL at any depth; the bound
    keeps the schema free of a reference to itself, which client generators cannot follow, and the
    fuzzer's cases few (tests/test_edge_text.py sends NULs deeper)."""
    out: dict[str, Any] = {"Json0": {"description": "any JSON value (nested deeper than the schemas look)"}}
    for level in range(1, depth + 1):
        inner = {"$ref": REF.format(model=f"Json{level - 1}")}
        out[f"Json{level}"] = {
            "anyOf": [
                {"type": "null"},
                {"type": "boolean"},
                {"type": "number"},
                NO_NUL,
                {"type": "array", "items": inner},
                {"type": "object", "propertyNames": NO_NUL, "additionalProperties": inner},
            ]
        }
    out["Json"] = {
        **out.pop(f"Json{depth}"),
        "description": "any JSON value without a NUL character in a string or a key",
    }
    return out
