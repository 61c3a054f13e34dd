"""The 2xx promise, property-tested through the real stack: hostile but plausible write bodies
(every JSON type in every field, unicode, control characters, huge numbers, duplicate keys,
references to missing rows). Every 2xx write ends stored or dead-lettered within a bounded
time; every 4xx published nothing; nothing gives a 5xx."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from minicrm import kafka_clients
from minicrm.edge.customers import customer_id
from support.deployment import eventually

pytestmark = pytest.mark.integration
EXAMPLES = 150

texts = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["\x00", "a\x00b", "Ann\nLee", "\u202eevil", "😀" * 60, "  ", "Zoë", "x" * 500, "NaN", "-0"]),
)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.sampled_from([0, 1, 99.999, 1e11, 1e12, -0.0, 2**63, 10**-30]),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
)
anything = st.one_of(
    texts,
    numbers,
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
plain = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=2, max_size=40)
emails = st.one_of(st.emails().map(str), st.builds(lambda t: f"{t}@example.com", plain))


def maybe(strategy, other=anything):
    """Mostly (17 in 20) the plausible value, else anything at all, or missing."""
    return st.integers(0, 19).flatmap(lambda n: strategy if n < 17 else other if n < 19 else st.just(...))


def without_missing(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not ...}


customer = st.fixed_dictionaries(
    {
        "name": maybe(plain, texts),
        "email": maybe(emails, st.one_of(anything, st.builds(lambda t: f"{t}@example.com", texts))),
        "phone": maybe(st.from_regex(r"\A[0-9]{10}\Z"), st.one_of(st.integers(0, 10**12), texts)),
        "city": maybe(st.one_of(st.sampled_from(["Pune", "Goa", "São Paulo"]), plain), texts),
        "visit": maybe(st.integers(0, 10**6), st.integers(-5, 10**10)),
    }
).map(without_missing)


def order(known: list[str]):
    item = st.fixed_dictionaries(
        {
            "name": maybe(plain, texts),
            "quantity": maybe(st.integers(-2, 10**7)),
            "unitPrice": maybe(numbers),
            "total": maybe(numbers),
        }
    ).map(without_missing)
    consistent = st.builds(
        lambda q, p: {"name": "Thing", "quantity": q, "unitPrice": p, "total": round(q * p, 2)},
        st.integers(1, 100),
        st.decimals(min_value=0, max_value=10**6, places=2).map(float),
    )
    return (
        st.fixed_dictionaries(
            {
                "id": maybe(st.one_of(plain, st.integers(0, 10**20), st.uuids().map(str)), texts),
                "customerId": maybe(st.one_of(st.sampled_from(known), st.uuids().map(str)), texts),
                "status": maybe(
                    st.sampled_from(["PENDING", "COMPLETED", "CANCELLED", "REFUNDED"]),
                    st.sampled_from(["completed", "SHIPPED", ""]),
                ),
                "items": maybe(st.lists(consistent, max_size=3), st.lists(item, max_size=3)),
                "order_date": maybe(st.one_of(st.datetimes().map(lambda d: d.isoformat()), texts)),
            }
        )
        .map(without_missing)
        .map(_amount)
    )


def _amount(o: dict) -> dict:
    items = o.get("items")
    if isinstance(items, list) and all(isinstance(i, dict) and isinstance(i.get("total"), (int, float)) for i in items):
        o["amount"] = round(sum(i["total"] for i in items), 2)
    return o


def body(items):
    """One item or an array, sometimes with a key given twice (the last one counts)."""

    def encode(value, twice):
        raw = json.dumps(value, ensure_ascii=False).encode()  # stdlib: it writes integers of any size
        if twice and isinstance(value, dict) and value:
            key = next(iter(value))
            raw = b'{"' + key.encode() + b'": "first of two", ' + raw[1:]
        return raw

    return st.builds(encode, st.one_of(items, items, st.lists(items, min_size=1, max_size=3)), st.booleans())


@pytest.fixture
async def known_customers(pipeline, http):
    tag = uuid.uuid4().hex[:8]
    customers = [{"name": f"Known {i}", "email": f"{tag}.{i}@example.com"} for i in range(5)]
    async with http.post("/api/customers", json=customers) as r:
        ids = (await r.json())["ids"]
    conn = await pipeline.db()
    try:
        await eventually(lambda: _all_stored(conn, ids))
    finally:
        await conn.close()
    return ids


async def _all_stored(conn, ids):
    return await conn.fetchval("SELECT count(*) FROM customers WHERE id = ANY($1::uuid[])", ids) == len(ids)


@pytest.fixture
async def edge(pipeline):
    """An edge that does not wait for customers posted moments before: each unknown id would
    otherwise cost the test its wait."""
    async with pipeline.extra_web(MINICRM_CUSTOMER_WAIT="0") as (url, _):
        yield url


class Client:
    """One HTTP session and one Kafka consumer (for end offsets) for the whole run."""

    def __init__(self, pipeline, token: str) -> None:
        self.pipeline, self.token = pipeline, token

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"})
        self.consumer = AIOKafkaConsumer(**kafka_clients.client_options(self.pipeline.settings))
        await self.consumer.start()
        self.partitions = [
            TopicPartition(self.pipeline.topic(t), p)
            for t in ("customers", "orders")
            for p in range(self.pipeline.settings.partitions)
        ]

    async def stop(self) -> None:
        await self.http.close()
        await self.consumer.stop()

    async def published(self) -> dict:
        return await self.consumer.end_offsets(self.partitions)


def test_every_accepted_write_is_stored_or_dead_lettered(pipeline, user, known_customers, edge):
    accepted: dict[str, set[str]] = {"customers": set(), "orders": set()}
    counts = {"2xx": 0, "4xx": 0}
    client, loop = Client(pipeline, user[1]), asyncio.new_event_loop()

    async def post(path: str, raw: bytes) -> None:
        before = await client.published()
        async with client.http.post(f"{edge}{path}", data=raw, headers={"Content-Type": "application/json"}) as r:
            status, answer = r.status, await r.json()
        assert status < 500, (status, answer, raw[:500])
        if status >= 400:
            counts["4xx"] += 1
            assert set(answer) == {"error", "detail"}
            assert await client.published() == before, f"a {status} published: {raw[:300]!r}"
            return
        counts["2xx"] += 1
        sent = orjson.loads(raw)
        items = sent if isinstance(sent, list) else [sent]
        if path == "/api/customers":
            accepted["customers"].update(customer_id(i["email"].strip().lower()) for i in items)
        else:
            accepted["orders"].update(str(i["id"]).strip() for i in items)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],
        print_blob=False,
    )
    @given(customers=body(customer), orders=body(order(known_customers)))
    def write(customers, orders):
        loop.run_until_complete(post("/api/customers", customers))
        loop.run_until_complete(post("/api/orders", orders))

    loop.run_until_complete(client.start())
    try:
        write()
    finally:
        loop.run_until_complete(client.stop())
        loop.close()
    print(f"{2 * EXAMPLES} requests: {counts['2xx']} accepted, {counts['4xx']} refused")
    assert counts["2xx"] >= 30 and counts["4xx"] >= 30  # the strategies reach both sides

    async def settled():
        conn = await pipeline.db()
        try:
            customers = await conn.fetchval(
                "SELECT count(*) FROM unnest($1::text[]) AS a(id) WHERE EXISTS (SELECT 1 FROM customers c"
                " WHERE c.id::text = a.id) OR EXISTS (SELECT 1 FROM dead_letters d WHERE d.key = a.id)",
                list(accepted["customers"]),
            )
            orders = await conn.fetchval(
                "SELECT count(*) FROM unnest($1::text[]) AS a(id) WHERE EXISTS (SELECT 1 FROM orders o"
                " WHERE o.id = a.id) OR EXISTS (SELECT 1 FROM dead_letters d WHERE d.key = a.id)",
                list(accepted["orders"]),
            )
            return (customers, orders) == (len(accepted["customers"]), len(accepted["orders"]))
        finally:
            await conn.close()

    asyncio.run(eventually(settled, timeout=60))

    async def dead_lettered():
        conn = await pipeline.db()
        try:
            return await conn.fetch(
                "SELECT key, reason FROM dead_letters WHERE key = ANY($1::text[])",
                list(accepted["customers"] | accepted["orders"]),
            )
        finally:
            await conn.close()

    # What the pipeline would refuse, the edge refuses first: dead letters are for the unforeseen.
    assert asyncio.run(dead_lettered()) == []
