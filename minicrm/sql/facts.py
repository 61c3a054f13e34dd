"""Customers' facts for `verdicts.evaluate`: their attributes and their COMPLETED orders by UTC day,
read from the tables that `rules.compile_sql` reads, a batch of customers at a time."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from uuid import UUID

from minicrm import rules, verdicts
from minicrm.sql.planning import Db

CUSTOMERS = """
SELECT c.id, c.total_spend, c.visit, c.city, c.last_order_date
FROM customers c JOIN unnest($1::uuid[]) AS t(id) ON c.id = t.id
"""

# The customers' ($1) COMPLETED orders from the start of the UTC day $2 days ago on (the future's
# included), a row per customer and UTC day of order_date: a range of orders_customer_date each.
DAYS = f"""
SELECT o.customer_id, (o.order_date AT TIME ZONE 'UTC')::date AS day, count(*) AS orders, sum(o.amount) AS amount
FROM orders o JOIN unnest($1::uuid[]) AS t(id) ON o.customer_id = t.id
WHERE o.status = 'COMPLETED' AND o.order_date >= {rules.WINDOW_START.format(days="$2")}
GROUP BY o.customer_id, day
"""


async def of(conn: Db, customer_ids: list[UUID], horizon_days: int) -> dict[UUID, verdicts.Facts]:
    """The facts of the stored customers among `customer_ids`, with the days from `horizon_days`
    ago on (none at 0: no window rule needs them). Two statements: in the caller's transaction they
    share one `now()`, and under REPEATABLE READ one snapshot."""
    found = await conn.fetch(CUSTOMERS, customer_ids)
    days: defaultdict[UUID, dict[date, tuple[int, Decimal]]] = defaultdict(dict)
    if found and horizon_days > 0:
        for r in await conn.fetch(DAYS, [r["id"] for r in found], horizon_days):
            days[r["customer_id"]][r["day"]] = (r["orders"], r["amount"])
    return {
        r["id"]: verdicts.Facts(r["total_spend"], r["visit"], r["city"], r["last_order_date"], days.get(r["id"], {}))
        for r in found
    }
