"""The pipeline's topics, each declared once with the record it carries; the edge, the
workers and the tooling name them only through these. Their names in Kafka carry the
deployment's prefix (`Settings.topic`)."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from minicrm import kafka_clients, records
from minicrm.settings import Settings


@dataclass(frozen=True)
class Topic:
    name: str
    record: type[records.Record]
    edge_publishes: bool = True
    """False for the topics only workers write (the live view's and the journeys' inputs)."""


CUSTOMERS = Topic("customers", records.CustomerBatch)
ORDERS = Topic("orders", records.OrderBatch)
CAMPAIGNS = Topic("campaigns", records.CampaignRequest)
DELIVERIES = Topic("deliveries", records.DeliveryBatch)
RECEIPTS = Topic("receipts", records.ReceiptBatch)
SUMMARIES = Topic("summaries", records.CampaignDone)
OUTCOMES = Topic("outcomes", records.Outcomes, edge_publishes=False)
VENDOR_CALLS = Topic("vendor-calls", records.VendorCall, edge_publishes=False)
CHANGES = Topic("customer-changes", records.CustomerChanges, edge_publishes=False)
ALL = (CUSTOMERS, ORDERS, CAMPAIGNS, DELIVERIES, RECEIPTS, SUMMARIES, OUTCOMES, VENDOR_CALLS, CHANGES)


def replica_configs(settings: Settings) -> dict[str, str]:
    """Topic configuration every topic the project creates carries, Faust's changelogs too:
    `min.insync.replicas`, so that an `acks=all` send is answered once that many replicas have it."""
    return {"min.insync.replicas": str(settings.min_insync)}


async def create_topics(settings: Settings) -> list[str]:
    """Creates the topics missing, with their partition counts, replication factor and
    `replica_configs` (idempotent)."""
    admin = AIOKafkaAdminClient(**kafka_clients.client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.topic(topic.name) for topic in ALL]
        missing = [name for name in wanted if name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=settings.partitions,
                        replication_factor=settings.replication_factor,
                        topic_configs=replica_configs(settings),
                    )
                    for name in missing
                ]
            )
        return missing
    finally:
        await admin.close()
