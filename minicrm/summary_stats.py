"""Summary statistics of a finished campaign, from plain rows: no database, no network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from minicrm import experiments

SPEND_BANDS = (Decimal(1000), Decimal(5000), Decimal(10000), Decimal(50000))


@dataclass(frozen=True)
class Segment:
    label: str
    sent: int
    failed: int

    @property
    def total(self) -> int:
        return self.sent + self.failed

    @property
    def delivery_rate(self) -> float:
        return rate(self.sent, self.total)


def rate(sent: int, total: int) -> float:
    return round(sent / total, 4) if total else 0.0


def band_label(bucket: int, currency: str, bands: tuple[Decimal, ...] = SPEND_BANDS) -> str:
    """Label of width_bucket(spend, bands): 0 below the first edge, len(bands) at or above the last."""

    def money(value: Decimal) -> str:
        return f"{currency}{value:,.0f}"

    if bucket <= 0:
        return f"spend under {money(bands[0])}"
    if bucket >= len(bands):
        return f"spend {money(bands[-1])} and over"
    return f"spend {money(bands[bucket - 1])} to {money(bands[bucket])}"


def segments(rows: Iterable[tuple[str, int, int]]) -> list[Segment]:
    return [Segment(label, sent, failed) for label, sent, failed in rows]


def build(campaign: dict[str, Any], by_band: list[Segment], by_city: list[Segment]) -> dict[str, Any]:
    sent, failed = campaign["sent_count"], campaign["failed_count"]
    started: datetime | None = campaign["started_at"]
    completed: datetime | None = campaign["completed_at"]
    duration = (completed - started).total_seconds() if started and completed else 0.0

    def table(items: list[Segment]) -> list[dict[str, Any]]:
        return [
            dict(asdict(s), total=s.total, delivery_rate=s.delivery_rate) for s in sorted(items, key=lambda s: -s.total)
        ]

    return {
        "audience_size": campaign["audience_size"] or 0,
        "sent": sent,
        "failed": failed,
        "no_receipt": campaign.get("no_receipt_count", 0),  # of the failed: no receipt ever came
        "cancelled": campaign.get("cancelled_count", 0),
        "opted_out": campaign.get("suppressed_count", 0),
        "frequency_capped": campaign.get("capped_count", 0),
        "delivery_rate": rate(sent, sent + failed),
        "duration_seconds": round(duration, 3),
        "messages_per_second": round((sent + failed) / duration, 1) if duration > 0 else None,
        "by_spend_band": table(by_band),
        "by_city": table(by_city),
        **earnings(campaign),
    }


def _money(value: Any) -> float:
    """Revenue as a JSON number (the stats are stored as JSON, which has no decimal type)."""
    return round(float(value or 0), 2)


def earnings(campaign: dict[str, Any]) -> dict[str, Any]:
    """What the campaign earned, for the keys that apply: conversions and revenue where they were
    counted, lift where there is a holdout, variants and the winner where there was a test."""
    stats: dict[str, Any] = {}
    sent, conversions = campaign["sent_count"], campaign.get("conversions")
    if conversions is not None:
        stats.update(conversions=conversions, conversion_rate=rate(conversions, sent))
    if campaign.get("attributed_revenue") is not None:
        stats["attributed_revenue"] = _money(campaign["attributed_revenue"])
    for key in ("attribution_days", "holdout_size", "holdout_conversions", "winner"):
        if campaign.get(key) is not None:
            stats[key] = campaign[key]
    decision = campaign.get("decision")
    if decision is not None:
        stats["decision"] = asdict(decision) if isinstance(decision, experiments.Decision) else dict(decision)
    if conversions is not None and campaign.get("holdout_size"):
        found = experiments.lift(conversions, sent, campaign.get("holdout_conversions") or 0, campaign["holdout_size"])
        if found is not None:
            # Six places, so that a sentence rounding them to 0.1 point rounds the true figures.
            stats.update(
                holdout_conversion_rate=round(found.holdout_rate, 6),
                lift=round(found.difference, 6),
                lift_interval=[round(found.low, 6), round(found.high, 6)],
            )
    if campaign.get("variants"):
        stats["variants"] = [experiments.VariantFigures.from_row(v).as_dict() for v in campaign["variants"]]
    return stats
