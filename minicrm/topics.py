"""Creates the pipeline's topics with their partition counts (idempotent)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from minicrm.settings import Settings

TOPICS = ("customers", "orders", "campaigns", "deliveries", "receipts", "summaries", "outcomes", "vendor-calls")


async def create_topics(settings: Settings) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.topic(name) for name in TOPICS]
        missing = [name for name in wanted if name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(name, num_partitions=settings.partitions, replication_factor=1) for name in missing]
            )
        return missing
    finally:
        await admin.close()
