"""PostgreSQL access by what it serves: one module per table family or stage, each holding its
statements (plain SQL, `$n` bind parameters only; arrays go in through unnest) and the thin
functions that run them on a connection or the pool. The numbered migrations are beside them."""

from minicrm.sql import (
    ab_tests,
    attribution,
    campaign_controls,
    campaigns,
    customers,
    dead_letters,
    deliveries,
    facts,
    journeys,
    live,
    locks,
    logs,
    orders,
    parked_orders,
    planning,
    receipts,
    segmentation,
    segments,
    summaries,
    suppressions,
    users,
)
from minicrm.sql.errors import NotFound

__all__ = [
    "NotFound",
    "ab_tests",
    "attribution",
    "campaign_controls",
    "campaigns",
    "customers",
    "dead_letters",
    "deliveries",
    "facts",
    "journeys",
    "live",
    "locks",
    "logs",
    "orders",
    "parked_orders",
    "planning",
    "receipts",
    "segmentation",
    "segments",
    "summaries",
    "suppressions",
    "users",
]
