"""The batching writer and the dead-letter path, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import orjson
import pytest

from minicrm.outages import is_transient
from minicrm.streams.batching import guarded, retry_forever, store
from minicrm.streams.customers import as_batch, write_customers

pytestmark = pytest.mark.integration


def customer(tag: str, i: int, **changes) -> dict:
    email = f"{tag}.{i}@example.com"
    return dict(id=str(uuid.uuid5(uuid.NAMESPACE_URL, email)), name=f"Person {i}", email=email) | changes


async def letters(db, topic):
    rows = await db.fetch("SELECT key, payload, reason FROM dead_letters WHERE topic = $1 ORDER BY id", topic)
    return [(r["key"], orjson.loads(r["payload"]), r["reason"]) for r in rows]


async def test_store_writes_the_batch_and_dead_letters_exactly_the_bad_records(db_pool):
    tag, topic = uuid.uuid4().hex[:8], f"t-{uuid.uuid4().hex[:8]}"
    batch = [customer(tag, i) for i in range(20)]
    batch[3] = customer(tag, 3, name="Null\x00byte")  # text PostgreSQL cannot store
    batch[11] = customer(tag, 11, visit=-4)  # breaks a CHECK constraint
    batch[17] = customer(tag, 17, visit=2**40)  # out of range for integer
    await store(db_pool, topic, batch, write_customers, as_batch)

    stored = await db_pool.fetchval("SELECT count(*) FROM customers WHERE email LIKE $1", f"{tag}.%")
    assert stored == 17
    dead = await letters(db_pool, topic)
    assert [key for key, _, _ in dead] == [batch[i]["id"] for i in (3, 11, 17)]
    # Each is kept in the form it had on the topic, NUL included, ready to replay.
    assert dead[0][1] == {"customers": [batch[3]]} and "\x00" in dead[0][1]["customers"][0]["name"]
    assert "CheckViolation" in dead[1][2] or "check" in dead[1][2].lower()


async def test_a_failure_of_any_type_is_dead_lettered_with_a_storable_reason(db_pool):
    topic = f"t-{uuid.uuid4().hex[:8]}"

    async def boom():
        raise ArithmeticError("bad \x00 value")

    ended = []

    async def end(reason):
        ended.append(reason)

    await guarded(db_pool, topic, {"id": "r\x001", "payload": "x\x00y", "big": 2**70}, boom, on_dead=end)
    [(key, payload, reason)] = await letters(db_pool, topic)
    assert key == "r\\u00001" and reason == "ArithmeticError: bad \\u0000 value"
    assert "unserialisable" in payload  # a 70-bit integer is past JSON's reach: kept as text
    assert ended == ["ArithmeticError: bad \x00 value"]


async def test_an_outage_is_retried_until_it_passes_and_nothing_is_dead_lettered(db_pool):
    topic, calls = f"t-{uuid.uuid4().hex[:8]}", []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    await guarded(db_pool, topic, {"id": "r1"}, flaky)
    assert len(calls) == 3 and await letters(db_pool, topic) == []


async def test_the_failure_policy():
    assert is_transient(ConnectionRefusedError()) and is_transient(TimeoutError())
    assert is_transient(asyncpg.exceptions.AdminShutdownError())
    assert not is_transient(asyncpg.exceptions.CheckViolationError()) and not is_transient(ValueError())
    # What a connection broken mid-operation raises (seen in a PostgreSQL restart) is retried a
    # few times; it is also what a bug raises, so not forever.
    broken = asyncpg.exceptions.InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    assert is_transient(broken, attempt=0) and not is_transient(broken, attempt=5)
    calls = []

    async def bug():
        calls.append(1)
        raise asyncpg.InterfaceError("cannot perform operation: another operation is in progress")

    with pytest.raises(asyncpg.InterfaceError):
        await asyncio.wait_for(retry_forever(bug, "bug", cap=0.01), timeout=5)
    assert len(calls) == 6


async def test_order_batches_sharing_customers_are_written_at_once_without_deadlock(db_pool):
    """Orders of one customer travel on different partitions, so two batches can move the same
    customers at the same time, in any order: each locks its customers in id order first, so the
    second waits for the first instead of deadlocking, and every order counts once."""
    from minicrm.streams.orders import as_batch as as_order_batch
    from minicrm.streams.orders import ingest

    tag, topic = uuid.uuid4().hex[:8], f"t-{uuid.uuid4().hex[:8]}"
    people = [customer(tag, i) for i in range(500)]
    await store(db_pool, topic, people, write_customers, as_batch)

    def orders(side: str) -> list[dict]:
        return [
            {
                "id": f"{tag}-{side}-{i}-{p['email']}",
                "customer_id": p["id"],
                "order_date": "2026-11-29T10:00:00+00:00",
                "amount": "2.50",
                "status": "COMPLETED",
                "items": [{"name": "x", "quantity": 1, "unitPrice": "2.50", "total": "2.50"}],
            }
            for i in range(2)
            for p in (people if side in "ac" else people[::-1])
        ]

    deadlocks = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    before = await db_pool.fetchval(deadlocks)
    await asyncio.gather(*(store(db_pool, topic, orders(side), ingest, as_order_batch) for side in "abcd"))

    assert await letters(db_pool, topic) == []
    totals = await db_pool.fetch("SELECT total_spend, visit FROM customers WHERE email LIKE $1", f"{tag}.%")
    assert [(r["total_spend"], r["visit"]) for r in totals] == [(20, 8)] * 500  # 4 batches x 2 orders x 2.50
    assert await db_pool.fetchval(deadlocks) == before


async def test_a_later_batch_sets_the_visits_it_gives_and_keeps_what_it_leaves_out(db_pool):
    tag, topic = uuid.uuid4().hex[:8], f"t-{uuid.uuid4().hex[:8]}"
    await store(db_pool, topic, [customer(tag, 0, city="Pune", timezone="Asia/Kolkata")], write_customers, as_batch)
    await store(db_pool, topic, [customer(tag, 0, name="Renamed", visit=7)], write_customers, as_batch)
    row = await db_pool.fetchrow("SELECT name, city, visit, timezone FROM customers WHERE email LIKE $1", f"{tag}.%")
    assert dict(row) == {"name": "Renamed", "city": "Pune", "visit": 7, "timezone": "Asia/Kolkata"}


async def test_an_order_leaving_completed_after_visits_were_set_lower_is_stored(db_pool):
    """A client set the visits below the completed orders' count; an order going back to PENDING
    later takes the count to 0, not below (the CHECK would refuse the order)."""
    from minicrm.streams.orders import as_batch as as_order_batch
    from minicrm.streams.orders import ingest

    tag, topic = uuid.uuid4().hex[:8], f"t-{uuid.uuid4().hex[:8]}"
    person = customer(tag, 0)
    await store(db_pool, topic, [person], write_customers, as_batch)
    order = {
        "id": f"{tag}-1",
        "customer_id": person["id"],
        "order_date": "2026-11-29T10:00:00+00:00",
        "amount": "2.50",
        "status": "COMPLETED",
        "items": [],
    }
    await store(db_pool, topic, [order], ingest, as_order_batch)
    await store(db_pool, topic, [person | {"visit": 0}], write_customers, as_batch)
    await store(db_pool, topic, [order | {"status": "PENDING"}], ingest, as_order_batch)

    assert await letters(db_pool, topic) == []
    assert await db_pool.fetchval("SELECT status FROM orders WHERE id = $1", order["id"]) == "PENDING"
    row = await db_pool.fetchrow("SELECT total_spend, visit FROM customers WHERE id = $1", uuid.UUID(person["id"]))
    assert (row["total_spend"], row["visit"]) == (0, 0)


def test_records_of_one_email_in_a_batch_merge_as_if_applied_in_turn():
    from minicrm.streams.customers import merge_by_email

    first = {"id": "1", "name": "Asha", "email": "a@x.io", "phone": "9876543210", "city": "Pune", "visit": 3}
    later = {"id": "1", "name": "Asha K", "email": "a@x.io", "phone": None, "city": "Goa"}  # no visit given
    other = {"id": "2", "name": "Ravi", "email": "r@x.io"}
    assert merge_by_email([first, other, later]) == [
        {"id": "1", "name": "Asha K", "email": "a@x.io", "phone": "9876543210", "city": "Goa", "visit": 3},
        other,
    ]
