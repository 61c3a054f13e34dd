"""Publishing to Kafka from the edge: a 2xx goes out only after the broker has every record."""

from __future__ import annotations

import asyncio
import zlib
from collections import defaultdict
from typing import Callable, Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from minicrm.edge.errors import Unavailable
from minicrm.streams.records import Record


class Publisher:
    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            enable_idempotence=True,  # acks=all, no duplicates from the producer's own retries
            linger_ms=2,
            max_batch_size=1024 * 1024,
            max_request_size=8 * 1024 * 1024,
            request_timeout_ms=10_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, topic: str, records: Iterable[tuple[str, Record]]) -> int:
        """Sends every (key, record) and waits for the broker to acknowledge them all."""
        messages = [{"value": record.dumps(), "key": key.encode()} for key, record in records]
        await self._send(topic, messages)
        return len(messages)

    async def publish_partitioned(
        self, topic: str, partitions: int, items: Iterable[tuple[str, Record]], wrap: Callable[[list], Record]
    ) -> int:
        """Groups items by the partition their key hashes to and sends one batch record per
        partition, so items with the same key keep their order."""
        groups: dict[int, list[Record]] = defaultdict(list)
        count = 0
        for key, item in items:
            groups[zlib.crc32(key.encode()) % partitions].append(item)
            count += 1
        await self._send(topic, [{"value": wrap(group).dumps(), "partition": p} for p, group in groups.items()])
        return count

    async def _send(self, topic: str, messages: list[dict]) -> None:
        try:
            futures = [await self._producer.send(topic, **message) for message in messages]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise Unavailable(f"could not publish to Kafka: {exc}") from exc

    async def ready(self) -> bool:
        try:
            await self._producer.client.fetch_all_metadata()
            return True
        except KafkaError:
            return False
