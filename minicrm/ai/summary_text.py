"""The local provider's campaign summary: a few sentences from the summary statistics, saying
what was delivered, what it earned (conversions, revenue, lift against the holdout, the winning
variant), and no claim that a small sample cannot carry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from minicrm.experiments import percent


def money(value: Decimal, currency: str) -> str:
    return f"{currency}{value:,.2f}".replace(".00", "")


def _people(n: int) -> str:
    return f"{n:,} customer" + ("" if n == 1 else "s")


def summary(name: str, stats: dict[str, Any], currency: str = "₹") -> str:
    """A few sentences a marketer can read in every case: nobody reached, all failed, one
    customer, one city or many, a difference between spend bands or none; what the campaign
    earned, its lift over a holdout and its winning variant where it had them."""
    return _outcomes(name, stats, currency) + _left_out(stats)


def _left_out(stats: dict[str, Any]) -> str:
    """The customers of the segment that were not messaged, and the messages a cancel stopped."""
    text = ""
    cancelled, opted_out, capped = (stats.get(k, 0) for k in ("cancelled", "opted_out", "frequency_capped"))
    if cancelled and stats["sent"] + stats["failed"]:
        text += f" The campaign was cancelled: {cancelled:,} of its messages were not sent."
    if opted_out or capped:
        reasons = [
            f"{n:,} had opted out" if k == "o" else f"{n:,} had reached the frequency cap"
            for k, n in (("o", opted_out), ("c", capped))
            if n
        ]
        text += f" Not messaged from the segment: {' and '.join(reasons)}."
    return text


# The fewest messages a spend band or city needs before it is called best or worst: below it, a
# rate moves by several points on a handful of failures (at 95% delivered, 100 messages give an
# interval of about ±4 points, 29 messages ±8), so a "best band" would be noise.
MIN_COMPARABLE = 100


def _outcomes(name: str, stats: dict[str, Any], currency: str) -> str:
    audience, sent, failed = stats["audience_size"], stats["sent"], stats["failed"]
    title = f'Campaign "{name}"'
    if stats.get("cancelled") and sent + failed == 0:
        return f"{title} was cancelled before any of its {stats['cancelled']:,} messages went out."
    if (audience == 0 or sent + failed == 0) and (stats.get("opted_out") or stats.get("frequency_capped")):
        return f"{title} sent no message."
    if audience == 0 or sent + failed == 0:
        return f"{title} matched no customers, so no message was sent. Widen the segment and try again."
    if audience == 1:
        text = f"{title} reached 1 customer, and the message was " + ("delivered." if sent else "not delivered.")
    elif sent == 0:
        text = f"{title} reached {_people(audience)}, but none of the {failed:,} messages was delivered."
    else:
        text = (
            f"{title} reached {_people(audience)}: {sent:,} messages delivered and {failed:,} failed, "
            f"a delivery rate of {percent(stats['delivery_rate'])}"
        )
        text += f" in {stats['duration_seconds']:.1f} seconds." if stats.get("duration_seconds") else "."
    text += _earned(stats, currency) + _lift(stats) + _variants(stats) + _bands(stats) + _cities(stats)
    if sent == 0:
        text += " Check the vendor's answers in the campaign's logs before sending again."
    return text


def _points(rate: float) -> str:
    """A difference of rates in percentage points, without a "-0.0"."""
    text = f"{rate * 100:.1f}"
    return "0.0" if text == "-0.0" else text


def _earned(stats: dict[str, Any], currency: str) -> str:
    """Conversions and revenue within the attribution window, which is still open at completion."""
    sent, conversions = stats["sent"], stats.get("conversions")
    if not sent or conversions is None:
        return ""
    days = stats.get("attribution_days")
    window = f"within {days} day{'' if days == 1 else 's'} of each message" if days else "after their message"
    revenue = stats.get("attributed_revenue")
    if conversions == 0:
        text = f" No customer has ordered {window} yet"
    else:
        rate = f"a conversion rate of {percent(stats['conversion_rate'])} of the {sent:,} messages delivered"
        if revenue is None:
            text = f" {_people(conversions)} ordered {window}, {rate}"
        else:
            earned = money(Decimal(str(revenue)), currency)
            text = f" It earned {earned} from {_people(conversions)} who ordered {window}, {rate}"
    return text + ("; figures can still grow until the window closes." if days else ".")


def _lift(stats: dict[str, Any]) -> str:
    if "lift" not in stats:
        return ""
    low, high = stats["lift_interval"]
    interval = f"95% interval {_points(low)} to {_points(high)}"
    holdout = f"{percent(stats['holdout_conversion_rate'])} of the {_people(stats['holdout_size'])} held out"
    if low <= 0 <= high:
        return (
            f" Against the holdout ({holdout}, who got no message) the difference of {_points(stats['lift'])} "
            f"points is within the noise ({interval})."
        )
    more = "more" if stats["lift"] > 0 else "less"
    return (
        f" The conversion rate is {_points(abs(stats['lift']))} points {more} than the holdout ({interval}; "
        f"{holdout} ordered without a message)."
    )


def _variants(stats: dict[str, Any]) -> str:
    """The winning variant, by how much, and why (the decision's reason)."""
    winner, variants = stats.get("winner"), stats.get("variants") or []
    decision = stats.get("decision") or {}
    reason = str(decision.get("reason") or "").rstrip(".")
    metric = "delivery_rate" if decision.get("metric") == "delivery_rate" else "conversion_rate"
    if not winner:
        return ""
    won = next((v for v in variants if v["name"] == winner), None)
    measured = [v for v in variants if (v["sent"] if metric == "conversion_rate" else v["sent"] + v["failed"])]
    others = [v for v in measured if v["name"] != winner]
    text = f" Variant {winner} won."
    if won is not None and others:
        runner = max(others, key=lambda v: v[metric])
        words, diff = metric.replace("_", " "), won[metric] - runner[metric]
        rates = "" if reason else f" ({percent(won[metric])} against {percent(runner[metric])})"  # else in the reason
        if _points(abs(diff)) == "0.0":
            text = f" Variant {winner} won, level with {runner['name']} at {percent(won[metric])} {words}."
        elif diff > 0:
            text = f" Variant {winner} won by {_points(diff)} points of {words} over {runner['name']}{rates}."
        else:
            text = f" Variant {winner} won, {_points(-diff)} points of {words} behind {runner['name']}{rates}."
    return text + (f" {reason[0].upper()}{reason[1:]}." if reason else "")


def _comparable(items: list[dict[str, Any]], plural: str, singular: str) -> tuple[list[dict[str, Any]], str]:
    """The segments with enough messages to compare, and a sentence when some have too few."""
    big = [s for s in items if s["total"] >= MIN_COMPARABLE]
    if len(big) == len(items):
        return big, ""
    if len(big) < 2:
        why = f"{singular} needs at least {MIN_COMPARABLE} messages to be called best or worst"
        return big, f" The {plural} are too small to compare: a {why}."
    return big, f" {plural.capitalize()} with fewer than {MIN_COMPARABLE} messages are not compared."


def _bands(stats: dict[str, Any]) -> str:
    bands = [b for b in stats["by_spend_band"] if b["total"]]
    if not stats["sent"] or len(bands) < 2:
        return ""
    bands, note = _comparable(bands, "spend bands", "band")
    if len(bands) < 2:
        return note
    best = max(bands, key=lambda b: (b["delivery_rate"], b["total"]))
    worst = min(bands, key=lambda b: (b["delivery_rate"], -b["total"]))
    if best["delivery_rate"] == worst["delivery_rate"]:
        return note
    return (
        f" Customers with {best['label']} had the best delivery rate, {percent(best['delivery_rate'])}, "
        f"against {percent(worst['delivery_rate'])} for {worst['label']}." + note
    )


def _cities(stats: dict[str, Any]) -> str:
    cities = [c for c in stats["by_city"] if c["total"] and c["label"]]
    if len(cities) == 1:
        return f" Everyone reached lives in {cities[0]['label']}."
    if not stats["sent"] or len(cities) < 2:
        return ""
    compared, note = _comparable(cities, "cities", "city")
    if len(compared) < 2:
        return note
    worst = min(compared, key=lambda c: (c["delivery_rate"], -c["total"]))
    if worst["delivery_rate"] == max(c["delivery_rate"] for c in compared):
        return note
    return (
        f" {worst['label']} had the lowest rate among {len(compared)} cities, {percent(worst['delivery_rate'])}." + note
    )
