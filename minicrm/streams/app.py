"""The Faust app and the topics every stage shares.

`faust -A minicrm.streams.app worker -l info` runs a worker as well as `minicrm worker`
does: the agents of the roles in `MINICRM_WORKER_ROLES` are found by Faust's autodiscovery.
"""

from __future__ import annotations

from pathlib import Path

import faust

from minicrm.settings import load_settings
from minicrm.streams import faust_patches, records

settings = load_settings()
faust_patches.install()

# The modules of each worker role; `monitoring` runs in every worker. The `live` role (the
# windowed tables) runs alone, as an app of its own (its own consumer group), so that no table
# recovery can hold back ingest, deliveries or receipts.
LIVE = "live"
ROLE_MODULES = {
    "ingest": ("minicrm.streams.customers", "minicrm.streams.orders"),
    "campaigns": ("minicrm.streams.campaigns",),
    "deliveries": ("minicrm.streams.deliveries",),
    "receipts": ("minicrm.streams.receipts",),
    "summaries": ("minicrm.streams.summaries",),
    LIVE: ("minicrm.tables.live",),
}
APP_ID = f"{settings.topic_prefix}-live" if LIVE in settings.worker_roles else settings.topic_prefix


def role_modules() -> list[str]:
    return ["minicrm.streams.monitoring", *(m for role in settings.worker_roles for m in ROLE_MODULES[role])]


Path(settings.worker_datadir, APP_ID).mkdir(parents=True, exist_ok=True)  # Faust needs it
app = faust.App(
    APP_ID,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",
    datadir=f"{settings.worker_datadir}/{APP_ID}",
    topic_partitions=settings.partitions,
    topic_replication_factor=1,
    consumer_auto_offset_reset="earliest",
    broker_commit_interval=1.0,
    # A worker that dies without leaving the group holds its partitions until this runs out.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=1.0,
    producer_acks=-1,
    # Records are split to fit max_record_bytes (minicrm.sizing); the request holds one with room.
    producer_max_request_size=2 * settings.max_record_bytes,
    # Records are batches (a delivery batch is up to max_record_bytes): Faust's default buffer of
    # 4,096 records a partition held a 1M campaign's whole delivery backlog in the worker (RSS
    # 74 -> 291 MB). A short buffer pauses fetching instead, and memory stays flat in N.
    stream_buffer_maxsize=32,
    web_enabled=False,
    autodiscover=role_modules,
    origin="minicrm.streams.app",  # scanned too: a module, so only itself
)


def topic(name: str, value_type: type[records.Record]) -> faust.TopicT:
    return app.topic(settings.topic(name), key_type=str, value_type=value_type, partitions=settings.partitions)


customers_topic = topic("customers", records.CustomerBatch)
orders_topic = topic("orders", records.OrderBatch)
campaigns_topic = topic("campaigns", records.CampaignRequest)
deliveries_topic = topic("deliveries", records.DeliveryBatch)
receipts_topic = topic("receipts", records.ReceiptBatch)
summaries_topic = topic("summaries", records.CampaignDone)
outcomes_topic = topic("outcomes", records.Outcomes)
vendor_calls_topic = topic("vendor-calls", records.VendorCall)
