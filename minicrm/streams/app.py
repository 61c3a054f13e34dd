"""The Faust app of a worker, made from its settings when the worker starts.

Importing this module does nothing: `app` and `settings` are made on first use (by
`minicrm worker`, which passes its settings, or by `faust -A minicrm.streams.app worker`,
which reads them from the environment), and the stage modules that declare agents on it
are imported only then, by Faust's autodiscovery of the roles in `MINICRM_WORKER_ROLES`.
The Faust patches and the data directory are set up when the app first starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import faust

from minicrm import kafka_clients, topics
from minicrm.settings import SOLO_ROLES, Settings, load_settings
from minicrm.streams import faust_patches

log = logging.getLogger(__name__)

# The modules of each worker role; `monitoring` runs in every worker. The `live` role (the
# windowed tables) and the `journeys` role each run alone, as an app of its own (its own consumer
# group), so that neither can hold back ingest, deliveries or receipts.
ROLE_MODULES = {
    "ingest": ("minicrm.streams.customers", "minicrm.streams.orders"),
    "campaigns": ("minicrm.streams.campaigns",),
    "deliveries": ("minicrm.streams.deliveries",),
    "receipts": ("minicrm.streams.receipts",),
    "summaries": ("minicrm.streams.summaries",),
    "live": ("minicrm.tables.live",),
    "journeys": ("minicrm.tables.journeys", "minicrm.tables.journey_timers"),
}


def app_id(settings: Settings) -> str:
    solo = [role for role in SOLO_ROLES if role in settings.worker_roles]
    return f"{settings.topic_prefix}-{solo[0]}" if solo else settings.topic_prefix


def role_modules(settings: Settings) -> list[str]:
    return ["minicrm.streams.monitoring", *(m for role in settings.worker_roles for m in ROLE_MODULES[role])]


MAX_POLL_RECORDS = 1  # records a poll hands on (see `buffer_size`)


def buffer_size(partitions: int) -> int:
    """Records an agent's buffer holds: 32, or more so that the fifth Faust keeps past its pause
    (`pressure_high_ratio` 1.25) holds a record of every partition of a topic (MAX_POLL_RECORDS)."""
    return max(32, 5 * (partitions * MAX_POLL_RECORDS + 1))


def slow_agent(settings: Settings) -> bool:
    """Whether the worker runs the fan-out, whose records wait for the vendor's rate."""
    return "deliveries" in settings.worker_roles


class WorkerApp(faust.App):
    """A Faust app that knows its settings and the Faust topic of each pipeline topic."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__(
            app_id(settings),
            broker=kafka_clients.faust_broker(settings),
            broker_credentials=kafka_clients.faust_credentials(settings),
            store="memory://",
            datadir=f"{settings.worker_datadir}/{app_id(settings)}",
            topic_partitions=settings.partitions,
            topic_replication_factor=settings.replication_factor,  # changelogs: see `replica_configs`
            consumer_auto_offset_reset="earliest",
            broker_commit_interval=1.0,
            # A worker that dies (or, as a static member, stops) holds its partitions until this runs
            # out; one restarted under its instance name takes them back at once.
            consumer_group_instance_id=settings.worker_instance or None,
            broker_session_timeout=settings.worker_session_timeout,
            broker_heartbeat_interval=1.0,
            producer_acks=-1,  # all in-sync replicas
            # Records are split to fit max_record_bytes (minicrm.sizing); a request holds one with room.
            producer_max_request_size=2 * settings.max_record_bytes,
            # Records are batches (a delivery batch is up to max_record_bytes): Faust's default
            # buffer of 4,096 records a partition would hold a large campaign's whole delivery
            # backlog in the worker. A short buffer pauses fetching instead: memory stays flat in N.
            stream_buffer_maxsize=buffer_size(settings.partitions) if slow_agent(settings) else 32,
            # A worker's records reach its agents through one loop, which waits whenever an agent's
            # buffer is full, and the fan-out takes its records slowly (at the vendor's rate). Faust
            # stops fetching a partition once its agent's buffer is four fifths full, but only at
            # that partition's next record, and hands on every record of a poll: polls of hundreds
            # (a megabyte's fetch of delivery batches) filled the fan-out's buffer and held the
            # loop, and every other agent of the worker (receipts above all) waited behind its
            # backlog, for minutes (issue 25; `tests/test_worker_restart.py`). A record a poll, and
            # room past the four fifths for one more record of each partition: nothing waits. Only
            # where the fan-out runs: elsewhere (the live view's and journeys' tables, recovering
            # their changelogs) Faust's large polls stay.
            broker_max_poll_records=MAX_POLL_RECORDS if slow_agent(settings) else None,
            web_enabled=False,
            autodiscover=lambda: role_modules(settings),
            origin="minicrm.streams.app",  # scanned too: a module, so only itself
        )
        self._topics = {
            topic: self.topic(
                settings.topic(topic.name), key_type=str, value_type=topic.record, partitions=settings.partitions
            )
            for topic in topics.ALL
        }

    def topic_of(self, topic: topics.Topic) -> faust.TopicT:
        """The Faust topic of a pipeline topic: one object each, shared by every stage."""
        return self._topics[topic]

    async def on_stop(self) -> None:
        """A clean stop waits for the records being processed, at most `worker_stop_grace` seconds."""
        asyncio.get_running_loop().call_later(self.settings.worker_stop_grace, give_up, self.settings.worker_stop_grace)
        await super().on_stop()

    async def on_first_start(self) -> None:
        faust_patches.install()
        Path(self.settings.worker_datadir).mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
        await super().on_first_start()


def give_up(grace: float) -> None:
    """Exits as a killed worker would: its unfinished records, uncommitted, are processed again."""
    log.warning("records still in process %.0f s after the stop: exiting without them", grace)
    logging.shutdown()
    os._exit(0)


_made: dict[str, WorkerApp] = {}  # this process's app, made once


def current(settings: Settings | None = None) -> WorkerApp:
    """This process's app, made from `settings` (or the environment's) on the first call."""
    if "app" not in _made:
        _made["app"] = WorkerApp(settings or load_settings())
    return _made["app"]


def __getattr__(name: str) -> Any:
    """`app` and `settings`, made on first use (PEP 562), not at import."""
    if name == "app":
        return current()
    if name == "settings":
        return current().settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
