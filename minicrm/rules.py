"""The segment rule tree: validation and compilation to a parameterised SQL condition.

Attributes and operators come from fixed allow-lists; every value becomes a bind
parameter, so no text from a request ever becomes SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from minicrm.order_effects import COMPLETED

MAX_DEPTH = 6
MAX_RULES = 100
MAX_NUMBER = Decimal("1e12")
MAX_DAYS = 36_500
MAX_WINDOW_DAYS = 365

NUMBER_ATTRIBUTES = {"total_spend": "c.total_spend", "visit": "c.visit"}
STRING_ATTRIBUTES = {"city": "c.city"}
DATE_ATTRIBUTES = {"last_order_date": "c.last_order_date"}
# Aggregates over the customer's COMPLETED orders (those that make total_spend) whose order_date
# is on or after the start of the UTC day `days` ago: the boundary last_order_date uses. Each is a
# correlated subquery that the index orders_customer_date (customer_id, order_date, id) serves.
WINDOW_ATTRIBUTES = {"orders_within": "count(*)", "spend_within": "coalesce(sum(o.amount), 0)"}
# Counts: compared with an integer (`integer_bound`), so that a column's index serves.
INTEGER_ATTRIBUTES = {"visit", "orders_within"}
ATTRIBUTES = {*NUMBER_ATTRIBUTES, *STRING_ATTRIBUTES, *DATE_ATTRIBUTES, *WINDOW_ATTRIBUTES}
NUMBER_OPERATORS = {">": ">", "<": "<", "=": "=", ">=": ">=", "<=": "<=", "!=": "<>"}
STRING_OPERATORS = {"=": "=", "!=": "<>"}
COMBINATORS = {"AND", "OR"}
WINDOW_START = "date_trunc('day', now()) - make_interval(days => {days}::int)"
WINDOW_SQL = (
    "(SELECT {aggregate} FROM orders o WHERE o.customer_id = c.id"
    f" AND o.status = '{COMPLETED}' AND o.order_date >= " + WINDOW_START + ")"
)


class RuleError(ValueError):
    """A rule tree that cannot be compiled; `path` names the offending node."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Rule:
    attribute: str
    operator: str
    value: Decimal | str
    days: int | None = None  # the window of orders_within and spend_within, in days

    @property
    def number(self) -> Decimal:
        """The value of a rule on a number attribute (checked when the tree was parsed)."""
        assert isinstance(self.value, Decimal), self
        return self.value


@dataclass(frozen=True)
class Group:
    combinator: str
    rules: tuple[Rule | Group, ...] = field(default_factory=tuple)


def _label(node: dict[str, Any], path: str) -> str:
    node_id = node.get("id")
    return f"{path} (id {node_id!r})" if isinstance(node_id, str) and node_id else path


def _parse_rule(node: dict[str, Any], path: str) -> Rule | None:
    attribute, operator, value = node.get("attribute"), node.get("operator"), node.get("value")
    where = _label(node, path)
    if attribute in (None, "") and operator in (None, ""):
        return None  # the frontend's blank row
    if not isinstance(attribute, str) or attribute not in ATTRIBUTES:
        raise RuleError(where, f"unknown attribute {attribute!r}; expected one of {sorted(ATTRIBUTES)}")
    allowed = STRING_OPERATORS if attribute in STRING_ATTRIBUTES else NUMBER_OPERATORS
    if not isinstance(operator, str) or operator not in allowed:
        raise RuleError(
            where, f"operator {operator!r} is not allowed for {attribute}; expected one of {sorted(allowed)}"
        )
    days = _days(node.get("days"), attribute, where)
    if attribute in STRING_ATTRIBUTES:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > 200:
            raise RuleError(where, f"value for {attribute} must be a string of at most 200 characters")
        return Rule(attribute, operator, str(value).strip())
    return Rule(attribute, operator, _number(value, attribute, where), days)


def _days(days: Any, attribute: str, where: str) -> int | None:
    """The window of a window rule: a whole number of days (a JSON integer or its digits)."""
    if attribute not in WINDOW_ATTRIBUTES:
        if days is not None:
            raise RuleError(where, f"days applies only to {' and '.join(sorted(WINDOW_ATTRIBUTES))}, not {attribute}")
        return None
    if isinstance(days, str) and days.strip().isdecimal() and days.strip().isascii():
        days = int(days.strip())  # int() strips less than str.strip() (\x1c-\x1f, \u2029 with others)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise RuleError(where, f"days for {attribute} must be a whole number from 1 to {MAX_WINDOW_DAYS}, got {days!r}")
    return days


def _number(value: Any, attribute: str, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RuleError(where, f"value for {attribute} must be a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RuleError(where, f"value for {attribute} must be a number, got {value!r}") from None
    if not number.is_finite() or abs(number) > MAX_NUMBER:
        raise RuleError(where, f"value for {attribute} must be a finite number below {MAX_NUMBER:,}")
    if attribute in DATE_ATTRIBUTES and (number != number.to_integral_value() or not 0 <= number <= MAX_DAYS):
        raise RuleError(where, f"value for {attribute} must be a whole number of days from 0 to {MAX_DAYS}")
    return number


def parse(tree: Any) -> Group:
    """Validates a ruleGroup dict and returns its typed form; raises RuleError."""
    count = 0

    def walk(node: Any, path: str, depth: int) -> Group | Rule | None:
        nonlocal count
        if not isinstance(node, dict):
            raise RuleError(path, "must be an object")
        if depth > MAX_DEPTH:
            raise RuleError(_label(node, path), f"rule tree is deeper than {MAX_DEPTH} levels")
        if "rules" not in node and "combinator" not in node:
            count += 1
            if count > MAX_RULES:
                raise RuleError(_label(node, path), f"rule tree has more than {MAX_RULES} rules")
            return _parse_rule(node, path)
        combinator = node.get("combinator", "AND")
        if not isinstance(combinator, str) or combinator.upper() not in COMBINATORS:
            raise RuleError(_label(node, path), f"unknown combinator {combinator!r}; expected AND or OR")
        rules = node.get("rules", [])
        if not isinstance(rules, list):
            raise RuleError(_label(node, path), "rules must be an array")
        children = [walk(child, f"{path}.rules[{i}]", depth + 1) for i, child in enumerate(rules)]
        return Group(combinator.upper(), tuple(c for c in children if c is not None))

    if tree in (None, {}):
        return Group("AND")
    root = walk(tree, "ruleGroup", 1)
    return root if isinstance(root, Group) else Group("AND", (root,) if root else ())


def compile_sql(group: Group, first_param: int = 1) -> tuple[str, list[Any]]:
    """Returns (condition, params) over the customers table aliased `c`."""
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${first_param + len(params) - 1}"

    def operand(rule: Rule) -> str:
        if rule.attribute in WINDOW_ATTRIBUTES:
            return WINDOW_SQL.format(aggregate=WINDOW_ATTRIBUTES[rule.attribute], days=bind(rule.days))
        return NUMBER_ATTRIBUTES[rule.attribute]

    def rule_sql(rule: Rule) -> str:
        if rule.attribute in INTEGER_ATTRIBUTES:
            op, bound = integer_bound(rule.operator, rule.number)
            return f"{operand(rule)} {op} {bind(bound)}::bigint"
        if rule.attribute in NUMBER_ATTRIBUTES or rule.attribute in WINDOW_ATTRIBUTES:
            op = NUMBER_OPERATORS[rule.operator]
            return f"{operand(rule)} {op} {bind(rule.value)}::numeric"
        if rule.attribute in STRING_ATTRIBUTES:
            op = STRING_OPERATORS[rule.operator]
            return f"lower({STRING_ATTRIBUTES[rule.attribute]}) {op} lower({bind(rule.value)}::text)"
        op = NUMBER_OPERATORS[rule.operator]
        return f"{DATE_ATTRIBUTES[rule.attribute]} {op} ({WINDOW_START.format(days=bind(int(rule.value)))})"

    def group_sql(node: Group) -> str:
        if not node.rules:
            return "TRUE"
        parts = [group_sql(r) if isinstance(r, Group) else rule_sql(r) for r in node.rules]
        return "(" + f" {node.combinator} ".join(parts) + ")"

    return group_sql(group), params


def integer_bound(operator: str, value: Decimal) -> tuple[str, int]:
    """The same comparison of a non-negative integer column with an integer: `visit > 2.5` is
    `visit > 2`, `visit >= 2.5` is `visit >= 3`. Comparing the column with a numeric instead
    casts every row, and its index cannot serve. `= 2.5` matches nothing and `!= 2.5` everything:
    they compare with -1, which no count equals."""
    op = NUMBER_OPERATORS[operator]
    whole = value == value.to_integral_value()
    if op in (">", "<="):
        return op, int(value.to_integral_value(rounding=ROUND_FLOOR))
    if op in (">=", "<"):
        return op, int(value.to_integral_value(rounding=ROUND_CEILING))
    return op, int(value) if whole else -1


def compile_tree(tree: Any, first_param: int = 1) -> tuple[str, list[Any]]:
    return compile_sql(parse(tree), first_param)
