"""The live view: Faust windowed tables in a worker of their own (`MINICRM_WORKER_ROLES=live`).

- Per campaign, the messages each receipts batch moved (`outcomes`), in 1 s tumbling
  windows: the timeline and the current rate. Each window touched is flushed to
  `campaign_timeline` once a second, as the table's absolute value (a repeated flush is
  harmless), for the campaign read and its event stream.
- Per vendor, the fan-out's call outcomes (`vendor-calls`) in hopping windows (30 s, every
  5 s): the error rate over the last 30 s across all workers, flushed to `vendor_health`,
  which every fan-out reads beside its own error window to pause campaigns.

PostgreSQL stays the source of truth for counters and completion; these tables are a view
that may lag or, after a crash, miss a batch's figures. Their recovery can hold back only
this worker: it is its own Faust app (its own consumer group and changelogs).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from uuid import UUID

from faust.types import TableT

from minicrm import sql, topics
from minicrm.streams import timers
from minicrm.streams.app import app, settings
from minicrm.streams.batching import retry_forever
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
outcomes_topic = app.topic_of(topics.OUTCOMES)
vendor_calls_topic = app.topic_of(topics.VENDOR_CALLS)
TIMELINE_EXPIRES = 3600.0
VENDOR_WINDOW, VENDOR_STEP = 30.0, 5.0


def counts(name: str) -> TableT:
    """A table of counts, its changelog replicated as the pipeline's topics are."""
    return app.Table(
        name, default=int, partitions=settings.partitions, extra_topic_configs=topics.replica_configs(settings)
    )


sent = counts("campaign-sent").tumbling(1.0, expires=TIMELINE_EXPIRES)
failed = counts("campaign-failed").tumbling(1.0, expires=TIMELINE_EXPIRES)
calls_ok = counts("vendor-ok").hopping(VENDOR_WINDOW, VENDOR_STEP, expires=300.0)
calls_failed = counts("vendor-failed").hopping(VENDOR_WINDOW, VENDOR_STEP, expires=300.0)


class Changes:
    """What changed since the last flush: (campaign, window start) → (sent, failed); vendor → (ok, failed)."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, float], tuple[int, int]] = {}
        self.vendors: dict[str, tuple[int, int]] = {}

    def take(self) -> tuple[dict[tuple[str, float], tuple[int, int]], dict[str, tuple[int, int]]]:
        taken = self.windows, self.vendors
        self.windows, self.vendors = {}, {}
        return taken


changes = Changes()


@app.agent(outcomes_topic)
async def count_outcomes(stream):
    async for event in stream.events():
        o = event.value
        sent[o.campaign_id] += o.sent
        failed[o.campaign_id] += o.failed
        start = float(math.floor(event.message.timestamp))  # seconds: the window of a 1 s tumbling table
        changes.windows[(o.campaign_id, start)] = (sent[o.campaign_id].current(), failed[o.campaign_id].current())


@app.agent(vendor_calls_topic)
async def count_vendor_calls(stream):
    async for call in stream:
        (calls_ok if call.ok else calls_failed)[call.vendor] += 1
        changes.vendors[call.vendor] = (calls_ok[call.vendor].now(), calls_failed[call.vendor].now())


@app.timer(1.0)
async def flush() -> None:
    """Writes the windows and vendor figures that changed since the last flush, in one batch each."""
    await timers.guard("flushing the live view", write)


async def write() -> None:
    taken, taken_vendors = changes.take()
    db = await pool()
    if taken:
        keys = list(taken)
        await retry_forever(
            lambda: sql.live.upsert_timeline(
                db,
                [UUID(c) for c, _ in keys],
                [datetime.fromtimestamp(start, UTC) for _, start in keys],
                [taken[k][0] for k in keys],
                [taken[k][1] for k in keys],
            ),
            "timeline",
        )
    if taken_vendors:
        names = list(taken_vendors)
        await retry_forever(
            lambda: sql.live.upsert_vendor_health(
                db,
                names,
                [taken_vendors[n][0] for n in names],
                [taken_vendors[n][1] for n in names],
                [VENDOR_WINDOW] * len(names),
            ),
            "vendor health",
        )
