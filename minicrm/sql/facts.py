"""Customers' facts for `verdicts.evaluate`: their attributes and their COMPLETED orders by UTC day,
read from the tables that `rules.compile_sql` reads, a batch of customers at a time."""

from __future__ import annotations

from uuid import UUID

from minicrm import rules, verdicts
from minicrm.order_effects import COMPLETED
from minicrm.sql.planning import Db

CUSTOMERS = """
SELECT c.id, c.total_spend, c.visit, c.city, c.last_order_date
FROM customers c JOIN unnest($1::uuid[]) AS t(id) ON c.id = t.id
"""

# The same, with each customer's COMPLETED orders from the start of the UTC day $2 days ago on (the
# future's included) by UTC day of order_date (a range of orders_customer_date each), in one
# statement: one snapshot, so the attributes and the days agree even under READ COMMITTED.
WITH_DAYS = f"""
SELECT c.id, c.total_spend, c.visit, c.city, c.last_order_date, d.days, d.orders, d.amounts
FROM customers c JOIN unnest($1::uuid[]) AS t(id) ON c.id = t.id
CROSS JOIN LATERAL (
    SELECT array_agg(g.day) AS days, array_agg(g.n) AS orders, array_agg(g.amount) AS amounts
    FROM (SELECT (o.order_date AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(o.amount) AS amount
          FROM orders o
          WHERE o.customer_id = c.id AND o.status = '{COMPLETED}'
            AND o.order_date >= {rules.WINDOW_START.format(days="$2")}
          GROUP BY 1) g
) d
"""


async def of(conn: Db, customer_ids: list[UUID], horizon_days: int) -> dict[UUID, verdicts.Facts]:
    """The facts of the stored customers among `customer_ids`, with the days from `horizon_days`
    ago on (none at 0: no window rule needs them), read in one statement."""
    if horizon_days <= 0:
        return {
            r["id"]: verdicts.Facts(r["total_spend"], r["visit"], r["city"], r["last_order_date"], {})
            for r in await conn.fetch(CUSTOMERS, customer_ids)
        }
    return {
        r["id"]: verdicts.Facts(
            r["total_spend"],
            r["visit"],
            r["city"],
            r["last_order_date"],
            dict(zip(r["days"], zip(r["orders"], r["amounts"], strict=True), strict=True)) if r["days"] else {},
        )
        for r in await conn.fetch(WITH_DAYS, customer_ids, horizon_days)
    }
