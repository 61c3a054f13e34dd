"""The main job: load a sample data set through the HTTP API, run a campaign (pausing and
resuming it on the way), show it finish, then resend to the customers whose message failed;
last, a journey: an order lifts a customer over a week's spend and its message follows.

Run by `bin/demo` once the stack is up. The data set is the same on every run (a fixed
seed), and ingest is idempotent, so running it again only adds a new campaign.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson

from minicrm.db import create_pool
from minicrm.edge.auth import issue_login_key
from minicrm.settings import load_settings

CITIES = ["Mumbai", "Delhi", "Bengaluru", "Pune", "Chennai", "Kolkata", "Hyderabad", "Jaipur"]
FIRST = ["Aarav", "Diya", "Kabir", "Meera", "Rohan", "Saanvi", "Vihaan", "Anaya", "Arjun", "Isha"]
LAST = ["Sharma", "Patel", "Iyer", "Khan", "Das", "Reddy", "Gupta", "Nair", "Singh", "Mehta"]
SEGMENT = {
    "id": "group-root",
    "combinator": "OR",
    "rules": [
        {"id": "r1", "attribute": "total_spend", "operator": ">", "value": "20000"},
        {
            "id": "g2",
            "combinator": "AND",
            "rules": [
                {"id": "r2", "attribute": "visit", "operator": ">=", "value": "3"},
                {"id": "r3", "attribute": "last_order_date", "operator": "<", "value": "60"},
            ],
        },
    ],
}
MESSAGE = "Hi {{name}}, we miss you in {{city}}! Here is 10% off your next order."


def sample(customers: int, orders_per_customer: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    people, orders = [], []
    for i in range(customers):
        people.append(
            {
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "email": f"demo.customer.{i}@example.com",
                "phone": f"9{i:09d}",
                "city": rng.choice(CITIES),
            }
        )
    for i in range(customers * orders_per_customer):
        qty, price = rng.randint(1, 3), rng.choice([199, 499, 999, 2499, 4999, 9999])
        orders.append(
            {
                "id": f"demo-order-{i}",
                "customerId": None,
                "_customer": rng.randrange(customers),
                "amount": qty * price,
                "status": rng.choices(["COMPLETED", "PENDING", "CANCELLED", "REFUNDED"], [80, 8, 7, 5])[0],
                "order_date": (now - timedelta(days=rng.randint(0, 365))).isoformat(),
                "items": [{"name": "Product", "quantity": qty, "unitPrice": price, "total": qty * price}],
            }
        )
    return people, orders


def bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + f"] {100 * done / total if total else 100:5.1f}%"


class Client:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200,)) -> tuple[Any, Any]:
        async with self.session.request(method, path, json=body) as r:
            payload = await r.json()
            if r.status not in expect:
                sys.exit(f"{method} {path} answered {r.status}: {payload}")
            return (payload if r.status < 300 else None), r.headers


async def load(client: Client, name: str, path: str, items: list[dict], chunk: int = 1000) -> tuple[float, list]:
    """Posts `items` in arrays; returns the seconds taken and the ids the edge gave back."""
    start = time.perf_counter()
    ids: list = []
    for i in range(0, len(items), chunk):
        answer, _ = await client.call("POST", path, items[i : i + chunk], expect=(202,))
        ids += answer.get("ids", [])
        done = min(i + chunk, len(items))
        print(f"\r  {name:<9} {bar(done, len(items))} {done:,}/{len(items):,}", end="", flush=True)
    elapsed = time.perf_counter() - start
    print(f"  {len(items) / elapsed:,.0f}/s")
    return elapsed, ids


async def stored(client: Client, name: str, method: str, path: str, expected: int) -> None:
    """Waits, showing progress, until PostgreSQL holds `expected` rows (the ingest agents catch up),
    counted exactly (`count=exact`: past 10,000 a total is otherwise PostgreSQL's estimate)."""
    while True:
        _, headers = await client.call(method, path, {} if method == "POST" else None)
        count = int(headers["X-Total-Count"])
        print(f"\r  stored    {bar(min(count, expected), expected)} {name} in PostgreSQL", end="", flush=True)
        if count >= expected:
            print()
            return
        await asyncio.sleep(0.3)


async def sign_in(settings, base: str) -> str:
    """Issues a login key for the demo user (as `minicrm issue-key` does) and signs in with it."""
    pool = await create_pool(settings.database_url, max_size=1)
    try:
        _, key = await issue_login_key(pool, "demo@minicrm.local", "Demo User")
    finally:
        await pool.close()
    async with aiohttp.ClientSession(base_url=base) as session:
        answer, _ = await Client(session).call("POST", "/api/auth", {"uuid": str(key)})
    print(f"Signed in as {answer['user']['email']} with a login key")
    return answer["token"]


async def main(customers: int, orders_per_customer: int) -> None:
    settings = load_settings()
    base = f"http://127.0.0.1:{settings.web_port}"
    people, orders = sample(customers, orders_per_customer)
    timings: dict[str, float] = {}
    token = await sign_in(settings, base)
    print(
        f"Kafka at {settings.kafka_bootstrap} ({settings.kafka_security_protocol}): topics of "
        f"{settings.replication_factor} replica(s), min.insync.replicas {settings.min_insync}, producers at acks=all"
    )
    async with aiohttp.ClientSession(base_url=base, headers={"Authorization": f"Bearer {token}"}) as session:
        client = Client(session)
        print(f"Loading {len(people):,} customers and {len(orders):,} orders through {base}/api")
        start = time.perf_counter()
        timings["customers over HTTP"], ids = await load(client, "customers", "/api/customers", people)
        # Orders name their customers, which the edge checks: let the customers land first.
        await stored(client, "customers", "POST", "/api/customers/get?limit=1&count=exact", len(people))
        for o in orders:
            o["customerId"] = ids[o.pop("_customer")]
        timings["orders over HTTP"], _ = await load(client, "orders", "/api/orders", orders)
        await stored(client, "orders", "GET", "/api/orders?limit=1&count=exact", len(orders))
        timings["ingest, HTTP to PostgreSQL"] = time.perf_counter() - start

        preview, _ = await client.call("POST", "/api/campaigns/get", {"ruleGroup": SEGMENT})
        audience = preview["audience_size"]
        print(f"\nSegment: {preview['intent']}\nAudience: {audience:,} customers")
        # Paced (ratePerSecond) to about eight seconds, so that the pause below shows.
        pace = max(50, audience // 8)
        start = time.perf_counter()
        ticket, _ = await client.call(
            "POST",
            "/api/campaigns",
            {
                "name": "Win-back demo",
                "ruleGroup": SEGMENT,
                "message": MESSAGE,
                "ratePerSecond": pace,
                "holdoutPercent": 10,  # they get no message: what the others do beyond them is the lift
            },
            expect=(201,),
        )
        cid = ticket["campaignId"]
        print(f"Campaign {cid} accepted in {1000 * (time.perf_counter() - start):.0f} ms, paced at {pace:,} msg/s")
        await follow(client, cid, until=lambda c: c["sent_count"] + c["failed_count"] >= audience * 0.4)
        c, _ = await client.call("POST", f"/api/campaigns/{cid}/pause")
        print(f"\n  {c['pause_reason']}: the vendor gets nothing more of it for 3 s:")
        await follow(client, cid, until=lambda c: False, seconds=3)
        c, _ = await client.call("POST", f"/api/campaigns/{cid}/resume")
        print("\n  resumed where it stopped:")
        c = await follow(client, cid)
        timings["campaign, request to summary"] = time.perf_counter() - start
        report(c)
        await earnings(client, cid)

        ticket, _ = await client.call("POST", f"/api/campaigns/{cid}/resend", {"statuses": ["FAILED"]}, expect=(201,))
        print(
            f"\nResending to the {ticket['audience_size']:,} customers whose message failed "
            f"(campaign {ticket['campaignId']}):"
        )
        start = time.perf_counter()
        again = await follow(client, ticket["campaignId"])
        timings["resend, request to summary"] = time.perf_counter() - start
        print("\n  " + again["summary"])
        timings["journey, order to message"] = await journey(client)
        print("\nTimings:")
        for name, seconds in timings.items():
            print(f"  {name:<30} {seconds:7.2f} s")


BIG_WEEK = {"rules": [{"attribute": "spend_within", "days": 7, "operator": ">", "value": "5000"}]}


async def journey(client: Client) -> float:
    """A journey on "spent over 5,000 in the last 7 days": a new customer's order of 6,000 puts
    them in, and the message follows; returns the seconds from the order's 202 to the message's
    vendor receipt."""
    created, _ = await client.call(
        "POST",
        "/api/journeys",
        {
            "name": "Big week thank-you",
            "trigger": {"type": "enters_segment", "ruleGroup": BIG_WEEK},
            "message": "Thank you {{name}}! Your week with us earned you free delivery.",
        },
        expect=(201,),
    )
    jid = created["journeyId"]
    while not (await client.call("GET", f"/api/journeys/{jid}"))[0]["started"]:
        await asyncio.sleep(0.1)
    email = f"journey.{int(time.time())}@minicrm.local"
    answer, _ = await client.call(
        "POST", "/api/customers", [{"name": "Journey Demo", "email": email, "city": "Pune"}], expect=(202,)
    )
    customer = answer["ids"][0]
    print(f"\nJourney {jid}: a customer who spends over 5,000 within 7 days gets a thank-you")
    order = {"id": f"journey-{email}", "customerId": customer, "amount": "6000.00", "status": "COMPLETED"}
    while True:  # the customer may not be stored yet: the edge answers 400 until it is
        async with client.session.post("/api/orders", json=[order]) as r:
            if r.status == 202:
                break
        await asyncio.sleep(0.1)
    accepted = time.perf_counter()
    print(f"  order of 6,000 by {email} accepted")
    while True:
        rows, _ = await client.call("GET", f"/api/logs?journeyId={jid}&customerId={customer}")
        if rows and rows[0]["status"] != "PENDING":
            took = time.perf_counter() - accepted
            print(f"  message {rows[0]['status']} {1000 * took:.0f} ms after the order: {rows[0]['personalized_msg']}")
            return took
        await asyncio.sleep(0.05)


async def follow(
    client: Client, campaign_id: str, until: Callable[[dict], bool] | None = None, seconds: float | None = None
) -> dict:
    """Shows the campaign's progress from its event stream (`GET /api/campaigns/{id}/events`)
    until the final event, `until` says so, or `seconds` have passed; returns the campaign."""
    deadline = time.perf_counter() + seconds if seconds else None
    async with client.session.get(f"/api/campaigns/{campaign_id}/events") as stream:
        async for line in stream.content:
            if not line.startswith(b"data: "):
                continue
            c = orjson.loads(line[6:])
            if c["audience_size"] is not None:
                done = c["sent_count"] + c["failed_count"]
                rate = c.get("current_rate_per_second") or 0
                eta = f", {c['eta_seconds']:.0f} s to go" if c.get("eta_seconds") else ""
                print(
                    f"\r  {c['status']:<9} {bar(done, c['audience_size'])} sent {c['sent_count']:,} "
                    f"failed {c['failed_count']:,} ({rate:,.0f} msg/s{eta})   ",
                    end="",
                    flush=True,
                )
            if c["status"] == "FAILED":
                sys.exit(f"\ncampaign failed: {c['failure_reason']}")
            if (until and until(c)) or (deadline and time.perf_counter() >= deadline):
                return c
    return c  # the stream ends with the final event


async def earnings(client: Client, campaign_id: str) -> None:
    """Simulated buyers: a quarter of the customers messaged order now, and a tenth of the
    holdout; then what the campaign earned, as its read says, once the orders are credited."""
    rng = random.Random(11)
    buyers = []
    for status, share in (("SENT", 0.25), ("HOLDOUT", 0.10)):
        rows, _ = await client.call("GET", f"/api/logs?campaignId={campaign_id}&status={status}")
        buyers += [row["customerId"] for row in rows if rng.random() < share]
    now = datetime.now(UTC).isoformat()
    orders = [
        {
            "id": f"demo-buy-{campaign_id}-{i}",
            "customerId": customer,
            "amount": 999,
            "status": "COMPLETED",
            "order_date": now,
            "items": [{"name": "Product", "quantity": 1, "unitPrice": 999, "total": 999}],
        }
        for i, customer in enumerate(buyers)
    ]
    print(
        f"\nWhat it earned: {len(orders):,} of its customers order now (simulated: a quarter of those messaged, "
        "a tenth of the holdout)"
    )
    await load(client, "orders", "/api/orders", orders)
    deadline = time.perf_counter() + 60
    while True:
        c, _ = await client.call("POST", "/api/campaigns/get", {"campaignId": campaign_id})
        if c["conversions"] + c["holdout_conversions"] >= len(orders):
            break
        if time.perf_counter() > deadline:
            sys.exit(f"the orders were not all credited within a minute: {c['conversions']} conversions")
        await asyncio.sleep(0.3)
    low, high = c["lift_interval"] or (0, 0)
    print(
        f"  conversions {c['conversions']:,} of {c['sent_count']:,} sent ({100 * c['conversion_rate']:.1f}%), "
        f"revenue {c['attributed_revenue']:,.0f}; holdout {c['holdout_conversions']:,} of {c['holdout_size']:,}; "
        f"lift {100 * (c['lift'] or 0):+.1f} points (95% interval {100 * low:+.1f} to {100 * high:+.1f})"
    )


def report(c: dict) -> None:
    print("\n\nSummary:\n  " + c["summary"])
    print("\nDelivery rate by spend band:")
    for s in c["summaryStats"]["by_spend_band"]:
        print(f"  {s['label']:<28} {s['total']:>7,} messages  {100 * s['delivery_rate']:5.1f}% delivered")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--orders-per-customer", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.orders_per_customer))
