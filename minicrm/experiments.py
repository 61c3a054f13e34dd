"""Holdouts and A/B variants: deterministic assignment, the same in Python and in SQL, and the
statistics that judge them (a two-proportion test, a Wald interval). Pure: no database, no network."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from hashlib import md5
from itertools import accumulate
from typing import Any, Literal
from uuid import UUID

BUCKETS = 10_000

# Salts: one per decision, so a customer's holdout, variant and test-cohort draws are independent.
HOLDOUT = "holdout"
VARIANT = "variant"
TEST_COHORT = "test"
SALTS = frozenset({HOLDOUT, VARIANT, TEST_COHORT})

Metric = Literal["conversion_rate", "delivery_rate"]


def _uuid_text(value: UUID | str) -> str:
    return str(value if isinstance(value, UUID) else UUID(value))


def bucket(seed: UUID | str, customer: UUID | str, salt: str) -> int:
    """The customer's bucket in [0, BUCKETS) for this seed (a campaign) and salt."""
    text = f"{_uuid_text(seed)}:{salt}:{_uuid_text(customer)}"
    return int(md5(text.encode(), usedforsecurity=False).hexdigest()[:8], 16) % BUCKETS


def bucket_sql(seed: str, customer: str, salt: str) -> str:
    """`bucket` as a PostgreSQL expression; `seed` and `customer` are SQL expressions of type uuid
    written by the caller (e.g. "$1::uuid", "c.id"). The salt becomes SQL text, so it must be one
    of the constants above. bit(32)::bigint reads the 8 hex digits unsigned, as int(..., 16) does."""
    if salt not in SALTS:
        raise ValueError(f"unknown salt {salt!r}; expected one of {sorted(SALTS)}")
    digest = f"md5(({seed})::text || ':{salt}:' || ({customer})::text)"
    return f"((('x' || substr({digest}, 1, 8))::bit(32)::bigint) % {BUCKETS})"


def thresholds(weights: Sequence[float]) -> list[int]:
    """Upper bucket bounds of each variant: variant i takes buckets [bounds[i-1], bounds[i]).
    Weights are positive, on any scale; the cumulative sums are rounded (not each share), so the
    last bound is exactly BUCKETS."""
    if not weights:
        raise ValueError("at least one weight is needed")
    if any(not math.isfinite(w) or w <= 0 for w in weights):
        raise ValueError(f"weights must be positive finite numbers, got {list(weights)}")
    total = math.fsum(weights)
    bounds = [round(BUCKETS * c / total) for c in accumulate(weights)]
    bounds[-1] = BUCKETS
    return bounds


def _checked(names: Sequence[str], weights: Sequence[float]) -> list[int]:
    if len(names) != len(weights):
        raise ValueError(f"{len(names)} variant names but {len(weights)} weights")
    return thresholds(weights)


def variant_of(bucket: int, names: Sequence[str], weights: Sequence[float]) -> str:
    if not 0 <= bucket < BUCKETS:
        raise ValueError(f"bucket {bucket} is outside [0, {BUCKETS})")
    bounds = _checked(names, weights)
    return next(name for name, bound in zip(names, bounds, strict=True) if bucket < bound)


def variant_sql(
    bucket_expr: str, names: Sequence[str], weights: Sequence[float], first_param: int = 1
) -> tuple[str, list[int | str]]:
    """`variant_of` as a PostgreSQL CASE over `bucket_expr` (SQL written by the caller), with the
    bounds and the names (user text) as bind parameters numbered from `first_param`. The CASE may
    evaluate `bucket_expr` once per variant: pass a column computed once where that matters."""
    bounds = _checked(names, weights)
    params: list[int | str] = []

    def bind(value: int | str, cast: str) -> str:
        params.append(value)
        return f"${first_param + len(params) - 1}::{cast}"

    pairs = zip(names[:-1], bounds[:-1], strict=True)
    whens = [f"WHEN {bucket_expr} < {bind(b, 'int')} THEN {bind(n, 'text')}" for n, b in pairs]
    last = bind(names[-1], "text")  # the last bound is BUCKETS, above every bucket
    return f"(CASE {' '.join(whens)} ELSE {last} END)", params


# ---- statistics ----------------------------------------------------------------------------


def _checked_counts(x: int, n: int) -> None:
    if not 0 <= x <= n:
        raise ValueError(f"a count of {x} out of {n} is not a proportion")


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled z-test of x1/n1 against x2/n2; None when there is nothing to
    test (an empty group, or a pooled rate of 0 or 1, where the z statistic is undefined)."""
    _checked_counts(x1, n1)
    _checked_counts(x2, n2)
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


def difference_interval(x1: int, n1: int, x2: int, n2: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wald interval (unpooled) of p1 - p2; None for an empty group. Where both rates are 0 or 1
    the interval has no width, as the Wald interval does."""
    _checked_counts(x1, n1)
    _checked_counts(x2, n2)
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    half = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return p1 - p2 - half, p1 - p2 + half


@dataclass(frozen=True)
class Lift:
    """The conversion rate of the messaged minus that of the holdout, with its 95% interval."""

    rate: float
    holdout_rate: float
    difference: float
    low: float
    high: float

    @property
    def within_noise(self) -> bool:
        return self.low <= 0 <= self.high


def lift(conversions: int, sent: int, holdout_conversions: int, holdout_size: int) -> Lift | None:
    """The lift over the holdout; None when there is nothing to compare, or when the counts are not
    proportions (a conversion stays credited to a message whose SENT a later receipt undid)."""
    if not (0 <= conversions <= sent and 0 <= holdout_conversions <= holdout_size):
        return None
    interval = difference_interval(conversions, sent, holdout_conversions, holdout_size)
    if interval is None:
        return None
    rate, holdout_rate = conversions / sent, holdout_conversions / holdout_size
    return Lift(rate, holdout_rate, rate - holdout_rate, *interval)


@dataclass(frozen=True)
class VariantFigures:
    name: str
    message: str
    audience_size: int
    sent: int
    failed: int
    conversions: int
    revenue: float

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.sent if self.sent else 0.0

    @property
    def delivery_rate(self) -> float:
        return self.sent / (self.sent + self.failed) if self.sent + self.failed else 0.0

    def counts(self, metric: Metric) -> tuple[int, int]:
        """(successes, trials) of the metric."""
        return (self.conversions, self.sent) if metric == "conversion_rate" else (self.sent, self.sent + self.failed)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> VariantFigures:
        """From a variant as the campaign keeps it (`name`, `message`) and its figures as stored
        (`audience_size`, `sent_count`, `failed_count`, `conversions`, `attributed_revenue`)."""
        return cls(
            name=row["name"],
            message=row.get("message") or "",
            audience_size=row.get("audience_size") or 0,
            sent=row.get("sent_count") or 0,
            failed=row.get("failed_count") or 0,
            conversions=row.get("conversions") or 0,
            revenue=round(float(row.get("attributed_revenue") or 0), 2),
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(
            asdict(self),
            revenue=round(self.revenue, 2),
            conversion_rate=round(self.conversion_rate, 4),
            delivery_rate=round(self.delivery_rate, 4),
        )


@dataclass(frozen=True)
class Decision:
    winner: str
    metric: Metric
    p_value: float | None
    significant: bool
    reason: str
    figures: list[dict[str, Any]] = field(default_factory=list)


# How each metric reads: "B converted 6.1% of 1,200 sent", "B delivered 97.0% of 1,200 messages",
# "no conversions among 2,380 sent", "B had no messages sent".
WORDS: dict[Metric, tuple[str, str, str, str]] = {
    "conversion_rate": ("converted", "sent", "conversions", "messages sent"),
    "delivery_rate": ("delivered", "messages", "deliveries", "messages"),
}


def percent(rate: float) -> str:
    """A rate as people read it: 0.0612 is 6.1%."""
    return f"{rate * 100:.1f}%"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"  # two figures: 0.0495 is not 0.05


def decide(variants: Sequence[VariantFigures], metric: Metric, alpha: float = 0.05) -> Decision:
    """The winner of an A/B test: the challenger best by the metric, tested against the first
    variant (the control); it wins only when significantly better, else the control does.
    The best of k - 1 challengers is tested at alpha / (k - 1) (Bonferroni), so that picking the
    best of several does not raise the chance of crowning noise."""
    if not variants:
        raise ValueError("a decision needs at least one variant")
    figures = [v.as_dict() for v in variants]
    control = variants[0]
    first = f"{control.name}, the first, goes to the rest"
    if len(variants) == 1:
        reason = f"only one variant: {control.name} goes to the rest"
        return Decision(control.name, metric, None, False, reason, figures)

    def value(v: VariantFigures) -> float:
        return v.conversion_rate if metric == "conversion_rate" else v.delivery_rate

    challenger = max(variants[1:], key=value)  # the first of equals
    verb, noun, successes, trials = WORDS[metric]
    (xc, nc), (xb, nb) = control.counts(metric), challenger.counts(metric)
    p = two_proportion_p_value(xb, nb, xc, nc)
    if p is None:
        empty = [v.name for v in (control, challenger) if not v.counts(metric)[1]]
        if empty:
            why = f"{' and '.join(empty)} had no {trials}"
        elif xb + xc == 0:
            why = f"no {successes} among {nb + nc:,} {noun}"
        else:
            why = f"all {nb + nc:,} {noun} {verb}"
        return Decision(control.name, metric, None, False, f"too few messages to compare ({why}): {first}", figures)
    needed = alpha / (len(variants) - 1)
    significant = p < needed
    if significant:
        winner, loser = (challenger, control) if value(challenger) > value(control) else (control, challenger)
        won = f"{winner.name} goes to the rest" if winner is challenger else first
        reason = (
            f"{winner.name} {verb} {percent(value(winner))} of {winner.counts(metric)[1]:,} {noun} against "
            f"{loser.name}'s {percent(value(loser))} of {loser.counts(metric)[1]:,} ({_p(p)}): {won}"
        )
        return Decision(winner.name, metric, p, True, reason, figures)
    high, low = (challenger, control) if value(challenger) > value(control) else (control, challenger)
    lead = f"best {high.name}" if high is challenger else high.name
    corrected = f"; {len(variants)} variants need p < {needed:.3g}" if len(variants) > 2 else ""
    reason = (
        f"no significant difference between the variants ({lead} at {percent(value(high))} against "
        f"{low.name}'s {percent(value(low))}, {_p(p)}{corrected}): {first}"
    )
    return Decision(control.name, metric, p, False, reason, figures)
