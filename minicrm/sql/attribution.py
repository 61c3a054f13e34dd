"""Attribution: the completed orders of a batch credited to the campaigns whose message reached
their customer shortly before, in the orders' own transaction.

An order converts its customer for a campaign when its date falls after the customer's message
was SENT and within the campaign's `attribution_days` of it; for a holdout customer (never
messaged), within as many days of the campaign's start. Orders are attributed by their date,
whenever they are posted, so a backfill gives the figures live ingest gives. Every campaign is
credited on its own (a customer messaged by two campaigns converts for both). Each order counts
once per campaign (`attributed_orders`, keyed by both) and each customer converts once, at their
first order (`conversions`); the campaign's counters and its variant's move by exactly the rows
inserted, so a replayed or re-posted order moves nothing. An order's first COMPLETED posting is
what is credited: a later refund stays in the customer's spend, not in the campaign's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg

from minicrm import campaign_states as states

CREDITED = states.sql_list((states.SENT, states.HOLDOUT))

# Each order's messages are looked up by its customer, one index look-up per order (a lateral
# subquery the planner cannot turn around): joined directly, the planner, knowing nothing of a
# new log, walked the whole log for every batch. Figures are summed per campaign and variant
# without a FULL JOIN, which only hash and merge joins can do (`planning.BY_KEY` turns them off).
ATTRIBUTE = f"""
WITH o AS (
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::numeric[])
        AS o(id, customer_id, order_date, amount)
), credited AS (
    SELECT l.campaign_id, o.id AS order_id, o.customer_id, l.variant, l.status = '{states.HOLDOUT}' AS holdout,
           o.amount, o.order_date
    FROM o
    CROSS JOIN LATERAL (
        SELECT l.campaign_id, l.variant, l.status, l.delivered_at FROM communication_log l
        WHERE l.customer_id = o.customer_id AND l.status IN {CREDITED} AND NOT l.test
        OFFSET 0
    ) l
    JOIN campaigns c ON c.id = l.campaign_id
    WHERE (l.status = '{states.SENT}' AND o.order_date > l.delivered_at
           AND o.order_date <= l.delivered_at + make_interval(days => c.attribution_days))
       OR (l.status = '{states.HOLDOUT}' AND o.order_date > c.started_at
           AND o.order_date <= c.started_at + make_interval(days => c.attribution_days))
), orders_added AS (
    INSERT INTO attributed_orders (campaign_id, order_id, customer_id, variant, holdout, amount, order_date)
    SELECT * FROM credited
    ON CONFLICT (campaign_id, order_id) DO NOTHING
    RETURNING campaign_id, customer_id, variant, holdout, amount, order_date
), converted AS (
    INSERT INTO conversions (campaign_id, customer_id, variant, holdout, converted_at)
    SELECT campaign_id, customer_id, variant, holdout, min(order_date)
    FROM orders_added GROUP BY campaign_id, customer_id, variant, holdout
    ON CONFLICT (campaign_id, customer_id) DO UPDATE SET converted_at = excluded.converted_at
        WHERE conversions.converted_at > excluded.converted_at  -- a backfilled earlier order
    RETURNING campaign_id, variant, holdout, xmax = 0 AS first
), per_variant AS (
    SELECT campaign_id, variant, sum(conversions)::int AS conversions,
           sum(holdout_conversions)::int AS holdout_conversions, sum(amount) AS amount
    FROM (SELECT campaign_id, variant, (first AND NOT holdout)::int AS conversions,
                 (first AND holdout)::int AS holdout_conversions, 0 AS amount
          FROM converted
          UNION ALL
          SELECT campaign_id, variant, 0, 0, amount FROM orders_added WHERE NOT holdout) figures
    GROUP BY campaign_id, variant
), variants AS (
    UPDATE campaign_variants v
    SET conversions = v.conversions + p.conversions, attributed_revenue = v.attributed_revenue + p.amount
    FROM per_variant p
    WHERE v.campaign_id = p.campaign_id AND v.name = p.variant
)
UPDATE campaigns c
SET conversions = c.conversions + p.conversions,
    holdout_conversions = c.holdout_conversions + p.holdout_conversions,
    attributed_revenue = c.attributed_revenue + p.amount
FROM (SELECT campaign_id, sum(conversions)::int AS conversions, sum(holdout_conversions)::int AS holdout_conversions,
             sum(amount) AS amount
      FROM per_variant GROUP BY campaign_id) p
WHERE c.id = p.campaign_id
"""


async def attribute(
    conn: asyncpg.Connection,
    ids: Sequence[str],
    customer_ids: Sequence[str],
    order_dates: Sequence[datetime],
    amounts: Sequence[Decimal],
) -> None:
    """Credits these completed orders to the campaigns they convert for (in the caller's
    transaction, the one that stores them)."""
    await conn.execute(ATTRIBUTE, ids, customer_ids, order_dates, amounts)
