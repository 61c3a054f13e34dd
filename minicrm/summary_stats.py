"""Summary statistics of a finished campaign, from plain rows: no database, no network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

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
        "cancelled": campaign.get("cancelled_count", 0),
        "opted_out": campaign.get("suppressed_count", 0),
        "frequency_capped": campaign.get("capped_count", 0),
        "delivery_rate": rate(sent, sent + failed),
        "duration_seconds": round(duration, 3),
        "messages_per_second": round((sent + failed) / duration, 1) if duration > 0 else None,
        "by_spend_band": table(by_band),
        "by_city": table(by_city),
    }
