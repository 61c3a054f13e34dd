"""An order id belongs to one customer: the edge claims it before it answers, on the real database."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from minicrm.edge.errors import Conflict
from minicrm.edge.orders import claim_orders
from minicrm.edge.schemas import OrderIn
from minicrm.streams.orders import prune_claims


def order(order_id: str, customer: uuid.UUID) -> OrderIn:
    return OrderIn.model_validate({"id": order_id, "customerId": str(customer), "amount": 1, "status": "PENDING"})


async def refused(db, *orders: OrderIn) -> list[tuple[int, str]]:
    with pytest.raises(Conflict) as caught:
        await claim_orders(db, list(orders))
    return [(p["item"], p["field"]) for p in caught.value.detail]


async def test_an_order_on_its_way_cannot_be_posted_again_for_another_customer(db_pool):
    a, b = uuid.uuid4(), uuid.uuid4()
    first, second = f"o-{uuid.uuid4()}", f"o-{uuid.uuid4()}"
    await claim_orders(db_pool, [order(first, a)])  # accepted, not stored yet
    assert await refused(db_pool, order(first, b)) == [(0, "customerId")]  # before: accepted, then dead-lettered
    await claim_orders(db_pool, [order(first, a)])  # re-posting it for its own customer is an update
    assert await refused(db_pool, order(second, a), order(first, b)) == [(1, "customerId")]
    await claim_orders(db_pool, [order(second, b)])  # the refused request claimed nothing
    assert await refused(db_pool, order(f"o-{uuid.uuid4()}", a), order(first, a), order(first, b)) == [
        (2, "customerId")
    ]


async def test_a_stored_orders_customer_wins_over_a_claim(db_pool):
    a, b = uuid.uuid4(), uuid.uuid4()
    stored = f"o-{uuid.uuid4()}"  # written by another producer, straight onto the topic: no claim
    await db_pool.execute(
        "INSERT INTO orders (id, customer_id, order_date, amount, status) VALUES ($1, $2, now(), 1, 'PENDING')",
        stored,
        a,
    )
    assert await refused(db_pool, order(stored, b)) == [(0, "customerId")]
    await claim_orders(db_pool, [order(stored, a)])


async def test_of_two_requests_at_once_for_one_id_and_two_customers_one_is_refused(db_pool):
    contested = f"o-{uuid.uuid4()}"
    results = await asyncio.gather(
        *(claim_orders(db_pool, [order(contested, uuid.uuid4())]) for _ in range(2)), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]


async def test_claims_of_stored_orders_are_dropped_and_their_ids_still_belong_to_their_customers(db_pool):
    a, b = uuid.uuid4(), uuid.uuid4()
    stored, on_its_way = f"o-{uuid.uuid4()}", f"o-{uuid.uuid4()}"
    await claim_orders(db_pool, [order(stored, a), order(on_its_way, a)])
    await db_pool.execute(
        "INSERT INTO orders (id, customer_id, order_date, amount, status) VALUES ($1, $2, now(), 1, 'PENDING')",
        stored,
        a,
    )  # as the worker stores it
    async with db_pool.acquire() as conn:
        await prune_claims(conn)
    claimed = {
        r["id"]
        for r in await db_pool.fetch("SELECT id FROM order_claims WHERE id = ANY($1::text[])", [stored, on_its_way])
    }
    assert claimed == {on_its_way}
    assert await refused(db_pool, order(stored, b), order(on_its_way, b)) == [(0, "customerId"), (1, "customerId")]
