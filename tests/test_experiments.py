"""Holdout and variant assignment (the SQL mirror checked on PostgreSQL) and the statistics that
judge a test, against values worked out by hand."""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from hashlib import md5

import asyncpg
import pytest

from minicrm import experiments as ex
from minicrm.experiments import VariantFigures
from support.deployment import ADMIN_DSN

SEED = uuid.UUID("6f1c2a1e-3b4d-4c5e-8f90-123456789abc")


def customers(count: int, seed: int = 7) -> list[uuid.UUID]:
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]


@pytest.fixture(scope="module")
def scratch(stack):
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(ADMIN_DSN))
    yield loop, conn
    loop.run_until_complete(conn.close())
    loop.close()


# ---- assignment ----------------------------------------------------------------------------


def test_a_bucket_is_the_md5_of_seed_salt_and_customer():
    customer = uuid.UUID("0b7e8f6a-1c2d-4e3f-9a8b-7c6d5e4f3a2b")
    text = f"{SEED}:variant:{customer}"
    assert ex.bucket(SEED, customer, ex.VARIANT) == int(md5(text.encode()).hexdigest()[:8], 16) % 10_000
    # The same customer however the uuid is written.
    assert ex.bucket(str(SEED).upper(), customer.hex, ex.VARIANT) == ex.bucket(SEED, customer, ex.VARIANT)


def test_each_salt_draws_independently():
    people = customers(2_000)
    held = {c for c in people if ex.bucket(SEED, c, ex.HOLDOUT) < 1_000}
    tested = {c for c in people if ex.bucket(SEED, c, ex.TEST_COHORT) < 1_000}
    assert 140 < len(held) < 260 and 140 < len(tested) < 260
    assert len(held & tested) < 50  # about 10% of 10%, not the same customers


def test_bucket_sql_takes_only_the_known_salts():
    with pytest.raises(ValueError, match="unknown salt"):
        ex.bucket_sql("$1::uuid", "c.id", "x' || pg_sleep(1) || '")


def test_bucket_sql_computes_bucket_on_postgresql(scratch):
    loop, conn = scratch
    rng = random.Random(11)
    seeds = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(2_000)]
    people = customers(2_000, seed=12)
    for salt in (ex.HOLDOUT, ex.VARIANT, ex.TEST_COHORT):
        query = (
            f"SELECT {ex.bucket_sql('t.s', 't.c', salt)} AS b"
            " FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(s, c, i) ORDER BY t.i"
        )
        got = [r["b"] for r in loop.run_until_complete(conn.fetch(query, seeds, people))]
        assert got == [ex.bucket(s, c, salt) for s, c in zip(seeds, people, strict=True)]
        assert min(got) >= 0 and max(got) < ex.BUCKETS


def test_thresholds_are_cumulative_and_end_at_buckets():
    assert ex.thresholds([70, 30]) == [7_000, 10_000]
    assert ex.thresholds([0.7, 0.3]) == ex.thresholds([7, 3]) == [7_000, 10_000]
    assert ex.thresholds([1, 1, 1]) == [3_333, 6_667, 10_000]
    assert ex.thresholds([1] * 7)[-1] == ex.BUCKETS
    for bad in ([], [1, 0], [1, -2], [1, math.inf], [math.nan]):
        with pytest.raises(ValueError):
            ex.thresholds(bad)


def test_variant_of_cuts_at_the_bounds():
    names, weights = ["A", "B"], [70, 30]
    assert [ex.variant_of(b, names, weights) for b in (0, 6_999, 7_000, 9_999)] == ["A", "A", "B", "B"]
    with pytest.raises(ValueError):
        ex.variant_of(10_000, names, weights)
    with pytest.raises(ValueError, match="2 variant names but 3 weights"):
        ex.variant_of(0, names, [1, 1, 1])


def test_a_70_30_split_of_10000_customers_is_within_two_points():
    names, weights = ["A", "B"], [70, 30]
    people = customers(10_000)
    assigned = [ex.variant_of(ex.bucket(SEED, c, ex.VARIANT), names, weights) for c in people]
    assert abs(assigned.count("A") / len(people) - 0.70) <= 0.02


def test_variant_sql_keeps_names_in_bind_parameters():
    names = ["A", "B'; DROP TABLE customers; --"]
    sql, params = ex.variant_sql("b", names, [1, 1], first_param=3)
    assert sql == "(CASE WHEN b < $3::int THEN $4::text ELSE $5::text END)"
    assert params == [5_000, "A", names[1]]


def test_variant_sql_agrees_with_variant_of_on_postgresql(scratch):
    loop, conn = scratch
    names, weights = ["A", "B'; DROP TABLE customers; --", "$1"], [50, 30.5, 19.5]
    people = customers(3_000, seed=5)
    case, params = ex.variant_sql(ex.bucket_sql("$2::uuid", "t.c", ex.VARIANT), names, weights, first_param=3)
    query = f"SELECT {case} AS v FROM unnest($1::uuid[]) WITH ORDINALITY AS t(c, i) ORDER BY t.i"
    got = [r["v"] for r in loop.run_until_complete(conn.fetch(query, people, SEED, *params))]
    assert got == [ex.variant_of(ex.bucket(SEED, c, ex.VARIANT), names, weights) for c in people]
    assert set(got) == set(names)


# ---- statistics ----------------------------------------------------------------------------


def test_two_proportion_p_value_by_hand():
    # 6.0% of 1,000 against 4.0% of 1,000: pooled 5%, z = 0.02 / sqrt(0.05 * 0.95 * 2 / 1000) = 2.052
    z = 0.02 / math.sqrt(0.05 * 0.95 * (2 / 1000))
    assert z == pytest.approx(2.052, abs=1e-3)
    expected = 2 * (1 - 0.5 * (1 + math.erf(z / math.sqrt(2))))  # twice the normal tail beyond |z|
    assert ex.two_proportion_p_value(60, 1000, 40, 1000) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(0.0402, abs=1e-4)
    assert ex.two_proportion_p_value(40, 1000, 60, 1000) == pytest.approx(expected, rel=1e-9)  # two-sided
    assert ex.two_proportion_p_value(50, 1000, 50, 1000) == pytest.approx(1.0)


@pytest.mark.parametrize("counts", [(0, 0, 5, 100), (5, 100, 0, 0), (0, 10, 0, 10), (10, 10, 20, 20)])
def test_no_p_value_without_something_to_test(counts):
    assert ex.two_proportion_p_value(*counts) is None


def test_counts_must_be_proportions():
    with pytest.raises(ValueError):
        ex.two_proportion_p_value(11, 10, 1, 10)
    with pytest.raises(ValueError):
        ex.difference_interval(-1, 10, 1, 10)


def test_difference_interval_by_hand():
    # 0.06 - 0.04 ± 1.96 * sqrt(0.06 * 0.94 / 1000 + 0.04 * 0.96 / 1000) = 0.02 ± 0.01908
    half = 1.96 * math.sqrt(0.06 * 0.94 / 1000 + 0.04 * 0.96 / 1000)
    low, high = ex.difference_interval(60, 1000, 40, 1000)
    assert (low, high) == (pytest.approx(0.02 - half), pytest.approx(0.02 + half))
    assert half == pytest.approx(0.01908, abs=1e-5)
    assert ex.difference_interval(60, 1000, 0, 0) is None
    wide = ex.difference_interval(60, 1000, 40, 1000, z=2.576)
    assert wide[0] < low and wide[1] > high


def test_lift_against_the_holdout():
    # 120 of 2,000 messaged converted (6%), 10 of 400 held out (2.5%)
    result = ex.lift(120, 2000, 10, 400)
    half = 1.96 * math.sqrt(0.06 * 0.94 / 2000 + 0.025 * 0.975 / 400)
    assert result.rate == pytest.approx(0.06) and result.holdout_rate == pytest.approx(0.025)
    assert result.difference == pytest.approx(0.035)
    assert (result.low, result.high) == (pytest.approx(0.035 - half), pytest.approx(0.035 + half))
    assert not result.within_noise
    assert ex.lift(41, 1000, 4, 100).within_noise  # 4.1% against 4%
    assert ex.lift(10, 100, 0, 0) is None and ex.lift(0, 0, 3, 50) is None
    assert ex.lift(1, 0, 0, 10) is None  # a conversion whose message a later receipt undid: no lift, no error


def V(name, sent, conversions, failed=0, revenue=0.0):
    return VariantFigures(name, f"message {name}", sent + failed, sent, failed, conversions, revenue)


def test_variant_figures_rates():
    v = V("A", 90, 9, failed=10, revenue=123.456)
    assert v.conversion_rate == 0.1 and v.delivery_rate == 0.9
    assert v.as_dict() == {
        "name": "A",
        "message": "message A",
        "audience_size": 100,
        "sent": 90,
        "failed": 10,
        "conversions": 9,
        "revenue": 123.46,
        "conversion_rate": 0.1,
        "delivery_rate": 0.9,
    }
    assert V("Z", 0, 0).conversion_rate == 0.0 and V("Z", 0, 0).delivery_rate == 0.0


def test_a_significantly_better_challenger_wins():
    a, b = V("A", 1180, 47), V("B", 1200, 73)
    pooled = 120 / 2380
    z = (73 / 1200 - 47 / 1180) / math.sqrt(pooled * (1 - pooled) * (1 / 1200 + 1 / 1180))
    p = math.erfc(z / math.sqrt(2))
    assert p == pytest.approx(0.0195, abs=5e-4)
    decision = ex.decide([a, b], "conversion_rate")
    assert decision.winner == "B" and decision.significant and decision.p_value == pytest.approx(p)
    assert decision.reason == "B converted 6.1% of 1,200 sent against A's 4.0% of 1,180 (p = 0.019): B goes to the rest"
    assert [f["name"] for f in decision.figures] == ["A", "B"] and decision.metric == "conversion_rate"


def test_no_significant_difference_keeps_the_first():
    # 4.3% of 1,000 against 4.0% of 1,000: z = 0.003 / sqrt(0.0415 * 0.9585 * 0.002) = 0.336, p = 0.74
    z = 0.003 / math.sqrt(0.0415 * 0.9585 * 0.002)
    p = math.erfc(z / math.sqrt(2))
    decision = ex.decide([V("A", 1000, 40), V("B", 1000, 43)], "conversion_rate")
    assert decision.winner == "A" and not decision.significant and decision.p_value == pytest.approx(p)
    assert decision.reason == (
        f"no significant difference between the variants (best B at 4.3% against A's 4.0%, p = {p:.2f}): "
        "A, the first, goes to the rest"
    )


def test_a_significantly_better_control_stays():
    decision = ex.decide([V("A", 1000, 60), V("B", 1000, 40)], "conversion_rate")
    assert decision.winner == "A" and decision.significant
    assert decision.reason == (
        "A converted 6.0% of 1,000 sent against B's 4.0% of 1,000 (p = 0.04): A, the first, goes to the rest"
    )


@pytest.mark.parametrize(
    "variants, why",
    [
        ([V("A", 1000, 40), V("B", 0, 0)], "too few messages to compare (B had no messages sent)"),
        ([V("A", 0, 0), V("B", 50, 5)], "too few messages to compare (A had no messages sent)"),
        ([V("A", 800, 0), V("B", 900, 0)], "too few messages to compare (no conversions among 1,700 sent)"),
    ],
)
def test_without_a_test_the_first_wins(variants, why):
    decision = ex.decide(variants, "conversion_rate")
    assert decision.winner == "A" and decision.p_value is None and not decision.significant
    assert decision.reason == f"{why}: A, the first, goes to the rest"


def test_delivery_rate_compares_deliveries_of_all_messages():
    # A delivered 900 of 1,000, B 950 of 1,000; conversions play no part.
    a, b = V("A", 900, 90, failed=100), V("B", 950, 0, failed=50)
    pooled = 1850 / 2000
    z = 0.05 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    decision = ex.decide([a, b], "delivery_rate")
    assert decision.winner == "B" and decision.metric == "delivery_rate"
    assert decision.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert decision.reason.startswith("B delivered 95.0% of 1,000 messages against A's 90.0% of 1,000 (p < 0.001)")


def test_the_best_of_several_challengers_must_clear_a_stricter_bar():
    # p = 0.04 would crown B against A alone; as the best of three challengers it needs p < 0.0167.
    variants = [V("A", 1000, 40), V("B", 1000, 60), V("C", 1000, 45), V("D", 1000, 41)]
    decision = ex.decide(variants, "conversion_rate")
    assert decision.winner == "A" and not decision.significant
    assert "best B at 6.0% against A's 4.0%, p = 0.04; 4 variants need p < 0.0167" in decision.reason
    assert ex.decide(variants[:2], "conversion_rate").winner == "B"


def test_one_variant_wins_alone():
    decision = ex.decide([V("A", 10, 1)], "conversion_rate")
    assert decision.winner == "A" and decision.reason == "only one variant: A goes to the rest"
    with pytest.raises(ValueError):
        ex.decide([], "conversion_rate")
