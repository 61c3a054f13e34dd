from datetime import datetime, timedelta, timezone

from minicrm import summary_stats
from minicrm.ai import local


def campaign(**kw):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return {"audience_size": 100, "sent_count": 90, "failed_count": 10, "started_at": start,
            "completed_at": start + timedelta(seconds=4), **kw}


def test_band_labels_cover_every_bucket():
    labels = [summary_stats.band_label(b, "₹") for b in range(0, len(summary_stats.SPEND_BANDS) + 1)]
    assert labels[0] == "spend under ₹1,000"
    assert labels[1] == "spend ₹1,000 to ₹5,000"
    assert labels[-1] == "spend ₹50,000 and over"


def test_build_rates_and_segments():
    bands = summary_stats.segments([("spend under ₹1,000", 40, 10), ("spend ₹50,000 and over", 50, 0)])
    stats = summary_stats.build(campaign(), bands, summary_stats.segments([("Pune", 90, 10)]))
    assert stats["delivery_rate"] == 0.9
    assert stats["duration_seconds"] == 4.0 and stats["messages_per_second"] == 25.0
    assert stats["by_spend_band"][0] == {"label": "spend under ₹1,000", "sent": 40, "failed": 10,
                                         "total": 50, "delivery_rate": 0.8}
    text = local.summary("Diwali", stats)
    assert "90 messages delivered" in text and "90.0%" in text
    assert "spend ₹50,000 and over had the best delivery rate, 100.0%" in text


def test_empty_campaign_has_zero_rates():
    stats = summary_stats.build(campaign(audience_size=0, sent_count=0, failed_count=0), [], [])
    assert stats["delivery_rate"] == 0.0 and stats["by_city"] == []
