"""Every Prometheus metric the processes export, in one place (docs/operations.md lists them).

The edge serves its own at `GET /metrics`; a worker serves its own on
`MINICRM_METRICS_PORT` (`minicrm worker --metrics-port N`). Names follow Prometheus's
conventions: `_total` counters, `_seconds` histograms, base units.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# The web edge.
HTTP_REQUESTS = Counter(
    "minicrm_http_requests_total", "HTTP requests answered, by route, method and status", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "minicrm_http_request_seconds", "Seconds to answer an HTTP request, by route and method", ["route", "method"]
)
CAMPAIGNS = Gauge("minicrm_campaigns", "Campaigns by status (read from PostgreSQL at scrape time)", ["status"])
# What campaigns sent and earned, by their status (read at scrape time too).
CAMPAIGN_SENT = Gauge("minicrm_campaign_messages_sent", "Messages SENT by campaigns", ["status"])
CONVERSIONS = Gauge("minicrm_campaign_conversions", "Customers converted by campaigns", ["status"])
ATTRIBUTED_REVENUE = Gauge("minicrm_campaign_attributed_revenue", "Revenue attributed to campaigns", ["status"])

# The worker.
RECORDS_CONSUMED = Counter("minicrm_records_consumed_total", "Kafka records an agent took, by topic", ["topic"])
ITEMS_STORED = Counter(
    "minicrm_items_stored_total",
    "Items (customers, orders) written to PostgreSQL from the records of a topic",
    ["topic"],
)
BATCH_WRITE_SECONDS = Histogram(
    "minicrm_batch_write_seconds", "Seconds per batch write transaction, by topic", ["topic"]
)
DEAD_LETTERS = Counter("minicrm_dead_letters_total", "Records dead-lettered, by topic", ["topic"])
CONSUMER_LAG = Gauge(
    "minicrm_consumer_lag", "Records past this worker's last commit, per assigned partition", ["topic", "partition"]
)
VENDOR_CALLS = Counter(
    "minicrm_vendor_calls_total",
    "Vendor calls by outcome: ok, rejected (4xx), too_large (413), busy (5xx, 429, ...), error (timeout, connection)",
    ["outcome"],
)
VENDOR_CALL_SECONDS = Histogram("minicrm_vendor_call_seconds", "Seconds per vendor call")
VENDOR_MESSAGES = Counter("minicrm_vendor_messages_total", "Messages in vendor calls that the vendor took")
OUTCOMES = Counter(
    "minicrm_message_outcomes_total",
    "Messages whose outcome was recorded from a receipt or a vendor's refusal, as the campaign "
    "counters count them (test sends not)",
    ["status"],
)

# The journeys worker.
JOURNEY_ENTRIES = Counter(
    "minicrm_journey_entries_total", "Journey entries recorded: WAITING (due later), or SKIPPED at entry", ["status"]
)
JOURNEY_BATCH_SECONDS = Histogram(
    "minicrm_journey_batch_seconds", "Seconds per batch of customer changes evaluated, entered and committed"
)
JOURNEY_TRIGGER_SECONDS = Histogram(
    "minicrm_journey_trigger_seconds",
    "Seconds from the edge's acceptance of an order to its entry's message being published",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0),
)
