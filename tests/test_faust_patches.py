"""The patches to faust-streaming and aiokafka (`minicrm.streams.faust_patches`), each beside
what unpatched Faust does."""

import asyncio
from collections import defaultdict

import pytest
from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from minicrm.streams import faust_patches

TOPIC = TP("deliveries", 0)


class Offsets:
    """The state `Consumer._new_offset` reads: committed offset, acked offsets, gaps."""

    def __init__(self, committed, acked):
        self._committed_offset = defaultdict(lambda: None, {TOPIC: committed})
        self._acked = defaultdict(list, {TOPIC: list(acked)})
        self._acked_index = defaultdict(set, {TOPIC: set(acked)})
        self._gap = defaultdict(IntervalTree)


def test_the_message_at_the_committed_offset_holds_the_commit_until_it_is_acked():
    faust_patches.install()
    state = Offsets(committed=2585, acked=[2586, 2587, 2588, 2589])  # 2585 is still in flight
    assert Consumer._new_offset(state, TOPIC) is None
    state._acked[TOPIC].append(2585)
    state._acked_index[TOPIC].add(2585)
    assert Consumer._new_offset(state, TOPIC) == 2590


def test_unpatched_faust_commits_past_it():
    state = Offsets(committed=2585, acked=[2586, 2587, 2588, 2589])
    assert faust_patches._new_offset(state, TOPIC) == 2590  # the message at 2585 would be lost


async def test_a_jump_in_offsets_is_not_taken_for_acked_messages():
    faust_patches.install()
    state = Offsets(committed=100, acked=[100])
    await Consumer._add_gap(state, TOPIC, 101, 140)  # a prefetched message at 140 came first
    state._acked[TOPIC].append(140)
    state._acked_index[TOPIC].add(140)
    assert not state._gap[TOPIC]
    assert Consumer._new_offset(state, TOPIC) == 101  # not 141: 101 to 139 are still unread


class Seeking:
    """What `Consumer.perform_seek` uses: a consumer whose committed offsets are `committed`
    (None: nothing committed yet), one changelog partition, and the seeks it was asked for."""

    def __init__(self, committed: dict[TP, int | None], reset: str = "earliest"):
        self.committed = committed
        self._read_offset = defaultdict(lambda: None)
        self._committed_offset = defaultdict(lambda: None)
        self.seeks: list[tuple[TP, int]] = []
        self.app = type("App", (), {})()
        self.app.conf = type("Conf", (), {"consumer_auto_offset_reset": reset})()
        self.app.tables = type("Tables", (), {"changelog_topics": {"app-table-changelog"}})()

    async def seek_to_committed(self):
        # aiokafka seeks only partitions whose committed offset is above 0, and says them all
        self.seeks += [(tp, offset) for tp, offset in self.committed.items() if offset and offset > 0]
        return self.committed

    def assignment(self):
        return set(self.committed)

    async def seek(self, tp, offset):
        self.seeks.append((tp, offset))
        self._read_offset[tp] = offset or None


STREAM, NEW, CHANGELOG = TP("outcomes", 0), TP("outcomes", 1), TP("app-table-changelog", 1)


async def test_unpatched_faust_does_not_rewind_a_partition_with_nothing_committed():
    consumer = Seeking({STREAM: 7, NEW: None, CHANGELOG: None})
    await faust_patches._perform_seek(consumer)
    assert consumer.seeks == [(STREAM, 7)]  # NEW keeps its position past the records dropped meanwhile


async def test_a_partition_with_nothing_committed_is_read_again_from_its_start():
    faust_patches.install()
    consumer = Seeking({STREAM: 7, NEW: None, CHANGELOG: None})
    await Consumer.perform_seek(consumer)
    assert sorted(consumer.seeks) == sorted([(STREAM, 7), (NEW, 0)])  # changelogs are recovery's to seek
    latest = Seeking({NEW: None}, reset="latest")
    await Consumer.perform_seek(latest)
    assert latest.seeks == []


async def test_the_worker_consumer_fetches_a_megabyte_or_what_came_within_100_ms():
    """Faust hard-codes a 1,500 ms wait: a partition whose fetch missed the request in flight was
    read again only after it (ingest stalled up to a second near its end). And aiokafka answers
    a fetch on its first byte: while a campaign ran, the workers fetched without pause."""
    from minicrm.streams.app import app

    faust_patches.install()
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_wait_ms == faust_patches.FETCH_MAX_WAIT_MS == 100
    assert consumer._fetch_min_bytes == faust_patches.FETCH_MIN_BYTES == 1024 * 1024
    await consumer.stop()  # never started: closes its client


def test_the_partitions_polled_go_to_the_back_of_the_line():
    from minicrm.streams.faust_patches import to_the_back

    records = {"deliveries-0": 1, "deliveries-1": 2, "receipts-0": 3}
    to_the_back(records, ["deliveries-0"])
    assert list(records) == ["deliveries-1", "receipts-0", "deliveries-0"]
    to_the_back(records, ["gone"])  # drained to the end: no longer there
    assert list(records) == ["deliveries-1", "receipts-0", "deliveries-0"]


async def _ask_controller(get_controller_node) -> int | None:
    """Faust's look-up of the controller on the real broker, with a dead broker listed first."""
    from aiokafka import AIOKafkaClient
    from aiokafka.cluster import BrokerMetadata
    from faust.transport.drivers.aiokafka import Transport
    from mode import Service

    from support.deployment import free_port

    client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9092")
    await client.bootstrap()
    try:
        real = list(client.cluster.brokers())
        dead = BrokerMetadata(99, "127.0.0.1", free_port(), None)  # nothing listens there
        client.cluster._brokers[99] = dead
        client.cluster.brokers = lambda: [dead, *real]
        owner = Service(loop=asyncio.get_running_loop())
        return await get_controller_node(Transport.__new__(Transport), owner, client, timeout=5)
    finally:
        await client.close()


async def test_a_starting_worker_finds_the_controller_past_a_dead_broker(stack):
    assert await _ask_controller(faust_patches.controller_from_any_broker) is not None


async def test_unpatched_faust_dies_on_the_first_broker_listed_when_it_is_down(stack):
    from aiokafka.errors import NodeNotReadyError

    with pytest.raises(NodeNotReadyError):
        await _ask_controller(faust_patches._get_controller_node)
