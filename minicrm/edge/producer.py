"""Publishing to Kafka from the edge: a 2xx goes out only after the broker has every record."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)

from minicrm import kafka_clients, sizing
from minicrm.edge.errors import PayloadTooLarge, Unavailable
from minicrm.records import Record
from minicrm.settings import Settings
from minicrm.topics import Topic

# An idempotent producer that lost its sequence with the broker (after a broker restart)
# fails every send from then on (aiokafka #1017): only a new producer, with a new id, sends.
SEQUENCE_LOST = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerIdMapping)
log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_record_bytes = settings.max_record_bytes
        self._producer = self._new_producer()
        self._renewing = asyncio.Lock()

    def _new_producer(self) -> AIOKafkaProducer:
        # acks=all (every in-sync replica has the record before the 2xx), idempotent
        return AIOKafkaProducer(
            **kafka_clients.producer_options(
                self.settings, linger_ms=2, max_batch_size=1024 * 1024, request_timeout_ms=10_000
            )
        )

    async def _renew(self, broken: AIOKafkaProducer) -> None:
        async with self._renewing:
            if self._producer is not broken:
                return  # another request renewed it already
            log.warning("the Kafka producer lost its sequence with the broker; starting a new one")
            fresh = self._new_producer()
            await fresh.start()
            self._producer = fresh
            try:
                await asyncio.wait_for(broken.stop(), timeout=5)
            except Exception:
                log.warning("the old producer did not stop cleanly", exc_info=True)

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, topic: Topic, records: Iterable[tuple[str, Record]]) -> int:
        """Sends every (key, record) and waits for the broker to acknowledge them all."""
        messages = [{"value": self._fitting(record.dumps()), "key": key.encode()} for key, record in records]
        await self._send(self.settings.topic(topic.name), messages)
        return len(messages)

    async def publish_batched(
        self,
        topic: Topic,
        items: Iterable[tuple[str, Any]],
        encode: Callable[[list], bytes],
        partitions: int | None = None,
        max_items: int = 0,
    ) -> int:
        """Sends items as batch records `encode(items)`, each under the record size limit (and
        `max_items` long at most, if given). With `partitions`, items are grouped by the
        partition their key hashes to, so items with the same key keep their order; without,
        by key, and each batch record is keyed by its group's key and a hash of its content, so a
        group's batches spread over the partitions."""
        groups: dict[int | str, list[Any]] = defaultdict(list)
        count = 0
        for key, item in items:
            groups[zlib.crc32(key.encode()) % partitions if partitions else key].append(item)
            count += 1
        messages = []
        for group, members in groups.items():
            size = max_items or len(members)
            for start in range(0, len(members), size):
                chunk = members[start : start + size]
                try:
                    parts = sizing.fit(chunk, encode, self.max_record_bytes)
                except sizing.TooLarge as exc:
                    raise PayloadTooLarge(str(exc)) from None
                for _, value in parts:
                    where = {"partition": group} if partitions else {"key": f"{group}:{zlib.crc32(value):08x}".encode()}
                    messages.append({"value": value, **where})
        await self._send(self.settings.topic(topic.name), messages)
        return count

    async def publish_raw(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        """Sends (full topic name, key, value) records as they are, such as dead letters replayed,
        and waits for every ack."""
        for topic in dict.fromkeys(name for name, _, _ in records):
            await self._send(topic, [{"value": v, "key": k} for name, k, v in records if name == topic])

    def _fitting(self, value: bytes) -> bytes:
        if len(value) > self.max_record_bytes:
            raise PayloadTooLarge(f"the request encodes to {len(value):,} bytes, past {self.max_record_bytes:,}")
        return value

    async def _send(self, topic: str, messages: list[dict]) -> None:
        """Sends and waits for every ack; a producer that lost its sequence is replaced and the
        messages sent once more (a record written twice changes nothing downstream)."""
        for attempt in (1, 2):
            producer = self._producer
            try:
                futures = [await producer.send(topic, **message) for message in messages]
                await asyncio.gather(*futures)
                return
            except SEQUENCE_LOST as exc:
                if attempt == 2:
                    raise Unavailable(f"could not publish to Kafka: {exc}") from exc
                await self._renew(producer)
            except KafkaError as exc:
                raise Unavailable(f"could not publish to Kafka: {exc}") from exc

    async def ready(self) -> bool:
        try:
            await self._producer.client.fetch_all_metadata()
            return True
        except KafkaError:
            return False
