"""Fixes to faust-streaming (0.15.3, pinned below 0.16) and aiokafka (0.14) that the pipeline
relies on, each with its upstream issue. Installed when the worker app first starts; remove each
once upstream has it.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import aiokafka
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError
from aiokafka.protocol.metadata import MetadataRequest
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Transport
from faust.types import TP
from mode import Service

_new_offset = Consumer._new_offset
_perform_seek = Consumer.perform_seek
_create_worker_consumer = AIOKafkaConsumerThread._create_worker_consumer
_fetched_records = Fetcher.fetched_records
_get_controller_node = Transport._get_controller_node
FETCH_MAX_WAIT_MS = 100
FETCH_MIN_BYTES = 1024 * 1024


def new_offset_never_past_in_flight(self: Consumer, tp: TP) -> int | None:
    """faust-streaming #606 (fix proposed in PR #707): under agent concurrency, Faust committed
    an offset past a message still being processed when that message sat right at the committed
    offset (the head-gap check is `> 1`, an off-by-one that takes the in-flight message for a
    compacted-topic gap). A worker killed then never processes it: the chaos run lost a delivery
    batch this way. Here nothing is committed while the message at the committed offset is not
    acked."""
    committed = self._committed_offset[tp]
    acked = self._acked[tp]
    if acked and committed is not None and min(acked) > committed:
        return None
    return _new_offset(self, tp)


async def no_gaps(self: Consumer, tp: TP, offset_from: int, offset_to: int) -> None:
    """Faust takes a jump in the offsets it reads for a gap (a compacted topic, transaction
    markers) and counts the missing offsets as acked. Our topics have no gaps (no compaction,
    no transactions), but after a rebalance or a broker restart a prefetched message can arrive
    ahead of its predecessors (faust-streaming #221), and those were then committed unread: the
    chaos run lost a whole delivery batch so. The skipped messages are read again in order."""


async def perform_seek_from_the_start_when_nothing_committed(self: Consumer) -> None:
    """The windowed-table recovery stall (issue 13; a report for upstream is written, not yet sent).
    Records fetched while Faust's flow is suspended (during a rebalance and table recovery) are
    dropped, and Faust then seeks back to the committed offsets to read them again
    (`perform_seek`). But aiokafka's `seek_to_committed` seeks only partitions with a committed
    offset above 0, so on a partition with none (a new consumer group, or a worker killed before
    its first commit) the position stays past the dropped records: the agent never sees them,
    and the partition looks stalled with records waiting. Table recovery makes this likely, as
    it resumes the stream partitions before it seeks them and resumes the flow. Here such
    partitions go back to their beginning, where their first read started
    (`consumer_auto_offset_reset="earliest"`)."""
    await _perform_seek(self)
    if self.app.conf.consumer_auto_offset_reset != "earliest":
        return
    changelogs = self.app.tables.changelog_topics
    for tp in self.assignment():
        if tp.topic not in changelogs and not self._committed_offset.get(tp):
            await self.seek(tp, 0)


def create_worker_consumer_that_fetches_in_bulk(self: AIOKafkaConsumerThread, transport: Any) -> Any:
    """Faust sets no fetch size and hard-codes the fetch wait (`fetch_max_wait_ms=1500`); neither
    is a setting. A broker answers a fetch once it has `fetch_min_bytes` for it, or after the wait.

    - The wait: with one broker, aiokafka sends no new fetch to a node while one is in flight,
      so a partition whose buffer was paused (flow control) or still held records when the fetch
      went out was read again only after the whole hard-coded wait, while its records waited on
      the broker, and ingest stalled near its end. Here FETCH_MAX_WAIT_MS.
    - The size: aiokafka's default (1 byte) answers a fetch as soon as any record is there. While
      a campaign runs records come all the time, so each worker fetched without pause, a few
      records a fetch, and decoding the answers was most of the live worker's CPU. A fetch now
      waits for FETCH_MIN_BYTES or the wait (docs/performance.md has the CPU saved). The cost: a
      lone small record (a campaign request, one order) waits up to the wait at the broker."""
    consumer = _create_worker_consumer(self, transport)
    # Read when the consumer starts its fetcher.
    consumer._fetch_max_wait_ms, consumer._fetch_min_bytes = FETCH_MAX_WAIT_MS, FETCH_MIN_BYTES
    return consumer


def to_the_back(records: MutableMapping[Any, Any], drained: Iterable[Any]) -> None:
    """The partitions just drained go to the back of the line (a dict keeps insertion order)."""
    for tp in drained:
        if tp in records:
            records[tp] = records.pop(tp)


async def fetched_records_in_turn(
    self: Fetcher, partitions: Any, timeout: float = 0, max_records: int | None = None
) -> dict:
    """aiokafka hands out fetched records partition by partition in the order they were fetched,
    up to `max_records`, and a partition keeps its place until all its fetched records are taken.
    With the small polls the workers make (`streams.app.MAX_POLL_RECORDS`), the first partition
    with a backlog (a megabyte of delivery batches) was polled alone until it was drained, and
    every other topic of the worker waited (a customer stored after a minute). Here each partition
    polled goes to the back of the line: the partitions take turns."""
    drained = await _fetched_records(self, partitions, timeout, max_records)
    to_the_back(self._records, drained)
    return drained


async def controller_from_any_broker(
    self: Transport, owner: Service, client: aiokafka.AIOKafkaClient, timeout: int = 30000
) -> int | None:
    """Before it creates its internal topics (the assignor's, the tables' changelogs) a starting
    worker asks a broker which one is the controller. Faust asked only the first broker its
    metadata lists, and when that one was down (SIGKILLed, not yet fenced) the worker died at
    start with NodeNotReadyError, on a cluster whose two other brokers were up (`bin/chaos` on
    three brokers). Here each broker is asked in turn until one answers."""
    unreachable: Exception | None = None
    for node_id in [broker.nodeId for broker in client.cluster.brokers()]:
        try:
            result = await owner.wait(client.send(node_id, MetadataRequest([])), timeout=timeout)
        except (NodeNotReadyError, KafkaConnectionError) as exc:
            unreachable = exc
            continue
        return None if result.stopped else result.result.controller_id
    raise unreachable or NodeNotReadyError("no broker to ask for the controller")


def install() -> None:
    # Replacing Faust's methods is the point: mypy's method-assign check is off for these lines.
    Consumer._new_offset = new_offset_never_past_in_flight  # type: ignore[method-assign]
    Consumer._add_gap = no_gaps  # type: ignore[method-assign]
    Consumer.perform_seek = perform_seek_from_the_start_when_nothing_committed  # type: ignore[method-assign]
    AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer_that_fetches_in_bulk  # type: ignore[method-assign]
    Fetcher.fetched_records = fetched_records_in_turn
    Transport._get_controller_node = controller_from_any_broker  # type: ignore[method-assign]
