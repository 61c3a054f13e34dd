"""The ruleGroup's JSON Schemas, read off `rules.py`'s allow-lists and limits, so that the
document names exactly the attributes, operators, values and depth that `rules.parse` takes."""

from __future__ import annotations

from typing import Any

from minicrm import rules
from minicrm.edge.input_schemas import JSON, NO_NUL, REF, up_to

ID = {**JSON, "description": "any value; named in errors when it is text"}
# What Python's str.strip() takes off (rules.py strips values so), in a character class.
STRIPPED = r"\t-\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PAD = f"[{STRIPPED}]*"
NUMBER = {
    "anyOf": [
        {"type": "number", "minimum": -float(rules.MAX_NUMBER), "maximum": float(rules.MAX_NUMBER)},
        {"type": "string", "pattern": rf"^{PAD}-?[0-9]{{1,12}}(?:\.[0-9]{{1,6}})?{PAD}$"},
    ]
}
NONE = {"type": "null"}
# Any case: rules.parse upper-cases it.
COMBINATOR = "^(?:" + "|".join("".join(f"[{c}{c.lower()}]" for c in word) for word in sorted(rules.COMBINATORS)) + ")$"


def _whole(low: int, high: int) -> dict[str, Any]:
    """A whole number from `low` to `high`, as a JSON number or as its digits."""
    digits = f"0*(?:{up_to(high)})"
    if low > 0:
        digits = f"(?!0*(?:{'|'.join(map(str, range(low)))}){PAD}$){digits}"
    return {
        "anyOf": [
            {"type": "integer", "minimum": low, "maximum": high},
            {"type": "string", "pattern": f"^{PAD}{digits}{PAD}$", "description": f"{low} to {high}"},
        ]
    }


def _rule(attributes: Any, operators: Any, value: dict[str, Any], days: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": ["attribute", "operator", "value"],
        "properties": {
            "attribute": {"enum": sorted(attributes)},
            "operator": {"enum": sorted(operators)},
            "value": value,
            "days": days,
        },
    }


def _kinds() -> list[dict[str, Any]]:
    """One schema per kind of attribute: numbers, dates (days ago), text, and windows over orders."""
    kinds = [
        _rule(rules.NUMBER_ATTRIBUTES, rules.NUMBER_OPERATORS, NUMBER, NONE),
        _rule(rules.DATE_ATTRIBUTES, rules.NUMBER_OPERATORS, _whole(0, rules.MAX_DAYS), NONE),
        _rule(
            rules.STRING_ATTRIBUTES,
            rules.STRING_OPERATORS,
            {"anyOf": [{**NO_NUL, "maxLength": 200}, {"type": "number"}]},
            NONE,
        ),
    ]
    days = {**_whole(1, rules.MAX_WINDOW_DAYS), "description": "the window: orders since the day this many ago"}
    window = _rule(rules.WINDOW_ATTRIBUTES, rules.NUMBER_OPERATORS, NUMBER, days)
    return [*kinds, {**window, "required": [*window["required"], "days"]}]


def rule_schemas() -> dict[str, Any]:
    """`Rule`, `RuleGroup1` (the root) to `RuleGroup{MAX_DEPTH}`, and `RuleGroup`: a node with
    `rules` or `combinator` is a group, any other a rule; at most `rules.MAX_DEPTH` levels (the
    count of rules over the whole tree, at most `rules.MAX_RULES`, cannot be said: each group is
    held to it). Unrolled by depth: a schema that refers to itself is one that client generators
    cannot follow, and the depth is a limit the edge holds."""
    blank = {"properties": {"attribute": {"enum": [None, ""]}, "operator": {"enum": [None, ""]}}}  # days: any
    out: dict[str, Any] = {
        "Rule": {
            "type": "object",
            "description": "a rule; one whose attribute and operator are both empty (the builder's blank row) "
            "is ignored",
            "properties": {"id": ID},
            "not": {"anyOf": [{"required": ["rules"]}, {"required": ["combinator"]}]},
            "anyOf": [blank, *_kinds()],
            "propertyNames": NO_NUL,
            "additionalProperties": JSON,
        }
    }
    for depth in range(rules.MAX_DEPTH, 0, -1):
        deepest = depth == rules.MAX_DEPTH
        below = {"anyOf": [{"$ref": REF.format(model="Rule")}, {"$ref": REF.format(model=f"RuleGroup{depth + 1}")}]}
        out[f"RuleGroup{depth}"] = {
            "type": "object",
            "anyOf": [{"required": ["rules"]}, {"required": ["combinator"]}],
            "properties": {
                "id": ID,
                "combinator": {"type": "string", "pattern": COMBINATOR, "default": "AND"},
                "rules": {
                    "type": "array",
                    "maxItems": 0 if deepest else rules.MAX_RULES,
                    "items": {} if deepest else below,
                },
            },
            "propertyNames": NO_NUL,
            "additionalProperties": JSON,
        }
    out["RuleGroup"] = {
        "description": f"a group of rules and groups, at most {rules.MAX_DEPTH} levels and {rules.MAX_RULES} "
        "rules; `{}` matches everyone",
        "anyOf": [{"$ref": REF.format(model="RuleGroup1")}, {"$ref": REF.format(model="Rule")}],
    }
    return out
