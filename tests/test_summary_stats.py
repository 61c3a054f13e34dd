import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from minicrm import experiments, summary_stats
from minicrm.ai import local, summary_text


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
    bands = summary_stats.segments([("spend under ₹1,000", 400, 100), ("spend ₹50,000 and over", 500, 0)])
    stats = summary_stats.build(
        campaign(audience_size=1000, sent_count=900, failed_count=100),
        bands,
        summary_stats.segments([("Pune", 900, 100)]),
    )
    assert stats["delivery_rate"] == 0.9
    assert stats["duration_seconds"] == 4.0 and stats["messages_per_second"] == 250.0
    assert stats["by_spend_band"][0] == {
        "label": "spend under ₹1,000",
        "sent": 400,
        "failed": 100,
        "total": 500,
        "delivery_rate": 0.8,
    }
    text = local.summary("Diwali", stats)
    assert "900 messages delivered" in text and "90.0%" in text
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
            900,
            100,
            [("spend under ₹1,000", 900, 100)],
            [("Pune", 500, 50), ("Goa", 400, 50)],
            None,
            "Goa had the lowest rate among 2 cities, 88.9%",
            ["best delivery rate", "too small"],
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


# ---- what the campaign earned --------------------------------------------------------------


def earning(**kw):
    """A campaign of 2,000 sent: 120 ordered within 7 days (6%), 10 of 400 held out (2.5%)."""
    figures = dict(
        audience_size=2400,
        sent_count=2000,
        failed_count=0,
        conversions=120,
        attributed_revenue=Decimal("123456.50"),
        attribution_days=7,
        holdout_size=400,
        holdout_conversions=10,
    )
    return campaign(**{**figures, **kw})


def test_a_campaign_without_earnings_has_none_of_their_keys():
    stats = summary_stats.build(campaign(), [], [])
    earned = {"conversions", "conversion_rate", "attributed_revenue", "lift", "lift_interval", "variants", "winner"}
    assert not earned & stats.keys()
    assert "earned" not in local.summary("Spring", stats) and "holdout" not in local.summary("Spring", stats)


def test_build_adds_conversions_revenue_and_lift():
    stats = summary_stats.build(earning(), [], [])
    assert stats["conversions"] == 120 and stats["conversion_rate"] == 0.06
    assert stats["attributed_revenue"] == 123456.5 and stats["attribution_days"] == 7
    half = 1.96 * math.sqrt(0.06 * 0.94 / 2000 + 0.025 * 0.975 / 400)
    assert stats["lift"] == pytest.approx(0.035)
    assert stats["lift_interval"] == [pytest.approx(0.035 - half, abs=1e-6), pytest.approx(0.035 + half, abs=1e-6)]
    orjson.dumps(stats)  # stored as JSON: no Decimal left


def test_no_lift_without_a_holdout():
    stats = summary_stats.build(earning(holdout_size=0), [], [])
    assert "lift" not in stats and "lift_interval" not in stats
    assert "holdout" not in local.summary("Spring", stats)


def test_the_summary_says_what_it_earned_and_its_lift():
    text = local.summary("Diwali", summary_stats.build(earning(), [], []), currency="₹")
    assert (
        "It earned ₹123,456.50 from 120 customers who ordered within 7 days of each message, "
        "a conversion rate of 6.0% of the 2,000 messages delivered; "
        "figures can still grow until the window closes."
    ) in text
    # 3.5 ± 1.85 points
    assert "3.5 points more than the holdout (95% interval 1.6 to 5.4;" in text


def test_a_lift_inside_the_noise_is_called_so():
    # 6% of 2,000 against 5% of 100: 1.0 ± 4.4 points
    text = local.summary("Diwali", summary_stats.build(earning(holdout_size=100, holdout_conversions=5), [], []))
    assert "the difference of 1.0 points is within the noise (95% interval -3.4 to 5.4)" in text
    assert "more than the holdout" not in text


def test_no_orders_yet():
    text = local.summary("Diwali", summary_stats.build(earning(conversions=0, attributed_revenue=0), [], []))
    assert "No customer has ordered within 7 days of each message yet; figures can still grow" in text


def variants_of(*figures):
    return [
        {
            "name": f.name,
            "message": f.message,
            "audience_size": f.audience_size,
            "sent_count": f.sent,
            "failed_count": f.failed,
            "conversions": f.conversions,
            "attributed_revenue": Decimal(str(f.revenue)),
        }
        for f in figures
    ]


def test_the_winning_variant_and_by_how_much():
    a = experiments.VariantFigures("A", "Hi {{name}}", 1180, 1180, 0, 47, 4700.0)
    b = experiments.VariantFigures("B", "Hello {{name}}", 1200, 1200, 0, 73, 7300.5)
    decision = experiments.decide([a, b], "conversion_rate")
    stats = summary_stats.build(earning(variants=variants_of(a, b), winner="B", decision=decision), [], [])
    assert stats["winner"] == "B" and stats["decision"]["reason"] == decision.reason
    assert stats["variants"][1] == dict(b.as_dict(), revenue=7300.5)
    orjson.dumps(stats)
    text = local.summary("Diwali", stats)
    assert (
        "Variant B won by 2.1 points of conversion rate over A. "
        "B converted 6.1% of 1,200 sent against A's 4.0% of 1,180 (p = 0.019): B goes to the rest."
    ) in text


def test_a_first_variant_that_wins_by_default_says_why():
    a = experiments.VariantFigures("A", "Hi", 1000, 1000, 0, 40, 0.0)
    b = experiments.VariantFigures("B", "Hello", 1000, 1000, 0, 43, 0.0)
    decision = experiments.decide([a, b], "conversion_rate")
    reason = {"reason": decision.reason}
    stats = summary_stats.build(earning(variants=variants_of(a, b), winner="A", decision=reason), [], [])
    text = local.summary("Diwali", stats)
    assert "Variant A won, 0.3 points of conversion rate behind B. No significant difference between" in text
    assert text.endswith("A, the first, goes to the rest.")


# ---- no claim a small sample cannot carry --------------------------------------------------


def test_bands_of_29_messages_are_not_called_best():
    bands = [("spend under ₹1,000", 20, 9), ("spend ₹1,000 to ₹5,000", 29, 0)]
    text = summary_of(49, 9, bands, [])
    assert "best delivery rate" not in text
    least = summary_text.MIN_COMPARABLE
    assert f"The spend bands are too small to compare: a band needs at least {least} messages" in text


def test_bands_of_5000_messages_are_compared():
    bands = [("spend under ₹1,000", 4500, 500), ("spend ₹1,000 to ₹5,000", 4900, 100)]
    text = summary_of(9400, 600, bands, [])
    assert "Customers with spend ₹1,000 to ₹5,000 had the best delivery rate, 98.0%, against 90.0%" in text
    assert "too small" not in text


def test_only_the_bands_large_enough_are_compared():
    bands = [("spend under ₹1,000", 4500, 500), ("spend ₹1,000 to ₹5,000", 4900, 100), ("spend ₹50,000 and over", 3, 0)]
    text = summary_of(9403, 600, bands, [])
    assert "best delivery rate, 98.0%, against 90.0%" in text and "100.0%" not in text
    assert "Spend bands with fewer than 100 messages are not compared." in text


def test_small_cities_are_not_called_lowest():
    text = summary_of(40, 10, [("spend under ₹1,000", 40, 10)], [("Pune", 25, 0), ("Goa", 15, 10)])
    assert "lowest" not in text and "The cities are too small to compare" in text
