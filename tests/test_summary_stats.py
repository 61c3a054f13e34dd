from datetime import UTC, datetime, timedelta

import pytest

from minicrm import summary_stats
from minicrm.ai import local


def campaign(**kw):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "audience_size": 100,
        "sent_count": 90,
        "failed_count": 10,
        "started_at": start,
        "completed_at": start + timedelta(seconds=4),
        **kw,
    }


def test_band_labels_cover_every_bucket():
    labels = [summary_stats.band_label(b, "₹") for b in range(len(summary_stats.SPEND_BANDS) + 1)]
    assert labels[0] == "spend under ₹1,000"
    assert labels[1] == "spend ₹1,000 to ₹5,000"
    assert labels[-1] == "spend ₹50,000 and over"


def test_build_rates_and_segments():
    bands = summary_stats.segments([("spend under ₹1,000", 40, 10), ("spend ₹50,000 and over", 50, 0)])
    stats = summary_stats.build(campaign(), bands, summary_stats.segments([("Pune", 90, 10)]))
    assert stats["delivery_rate"] == 0.9
    assert stats["duration_seconds"] == 4.0 and stats["messages_per_second"] == 25.0
    assert stats["by_spend_band"][0] == {
        "label": "spend under ₹1,000",
        "sent": 40,
        "failed": 10,
        "total": 50,
        "delivery_rate": 0.8,
    }
    text = local.summary("Diwali", stats)
    assert "90 messages delivered" in text and "90.0%" in text
    assert "spend ₹50,000 and over had the best delivery rate, 100.0%, against 80.0% for spend under ₹1,000" in text
    assert "Everyone reached lives in Pune." in text


def summary_of(sent, failed, bands, cities, audience=None):
    stats = summary_stats.build(
        campaign(audience_size=sent + failed if audience is None else audience, sent_count=sent, failed_count=failed),
        summary_stats.segments(bands),
        summary_stats.segments(cities),
    )
    return local.summary("Spring", stats)


@pytest.mark.parametrize(
    "sent,failed,bands,cities,audience,says,never",
    [
        (0, 0, [], [], 0, "matched no customers, so no message was sent", ["0.0%", "best"]),
        (
            0,
            50,
            [("spend under ₹1,000", 0, 30), ("spend ₹1,000 to ₹5,000", 0, 20)],
            [("Pune", 0, 30), ("Goa", 0, 20)],
            None,
            "none of the 50 messages was delivered",
            ["best delivery rate", "0.0%"],
        ),
        (
            1,
            0,
            [("spend under ₹1,000", 1, 0)],
            [("Pune", 1, 0)],
            None,
            "reached 1 customer, and the message was delivered",
            ["1 customers", "best"],
        ),
        (0, 1, [("spend under ₹1,000", 0, 1)], [("", 0, 1)], None, "the message was not delivered", ["best"]),
        (
            90,
            10,
            [("spend under ₹1,000", 90, 10)],
            [("Pune", 50, 5), ("Goa", 40, 5)],
            None,
            "Goa had the lowest rate among 2 cities, 88.9%",
            ["best delivery rate"],
        ),  # no orders: one band, no comparison
        (
            80,
            20,
            [("spend under ₹1,000", 40, 10), ("spend ₹1,000 to ₹5,000", 40, 10)],
            [],
            None,
            "a delivery rate of 80.0%",
            ["best delivery rate", "lives in"],
        ),  # equal bands: nothing to compare
    ],
)
def test_summaries_read_well_in_every_case(sent, failed, bands, cities, audience, says, never):
    text = summary_of(sent, failed, bands, cities, audience)
    assert says in text, text
    assert not [phrase for phrase in never if phrase in text], text
    assert text.startswith('Campaign "Spring"') and text.endswith(".")


def test_empty_campaign_has_zero_rates():
    stats = summary_stats.build(campaign(audience_size=0, sent_count=0, failed_count=0), [], [])
    assert stats["delivery_rate"] == 0.0 and stats["by_city"] == []
