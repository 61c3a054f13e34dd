"""The smallest Faust app with a windowed table: one agent counting events per key in 1 s
tumbling windows. Started by bench/table_recovery.py as `faust -A table_recovery_app worker`.

REPRO_TOPIC names its topics; REPRO_PATCHES=1 installs minicrm's faust_patches as the
pipeline does."""

from __future__ import annotations

import asyncio
import os

import faust

if os.environ.get("REPRO_PATCHES") == "1":
    from minicrm.streams import faust_patches

    faust_patches.install()

NAME = os.environ.get("REPRO_TOPIC", "repro")
app = faust.App(
    NAME,
    broker=f"kafka://{os.environ.get('REPRO_BOOTSTRAP', '127.0.0.1:9092')}",
    store="memory://",
    datadir=os.environ.get("REPRO_DATADIR", "/tmp/repro-faust"),
    topic_partitions=4,
    topic_replication_factor=1,
    consumer_auto_offset_reset="earliest",
    broker_commit_interval=1.0,
    broker_session_timeout=10.0,
    broker_heartbeat_interval=1.0,
    web_enabled=False,
    table_standby_replicas=int(os.environ.get("REPRO_STANDBYS", "0")),
    stream_recovery_delay=float(os.environ.get("REPRO_RECOVERY_DELAY", "0")),
)
events = app.topic(f"{NAME}-events", key_type=str, value_type=bytes, value_serializer="raw", partitions=4)
counts = app.Table("counts", default=int, partitions=4).tumbling(1.0, expires=600.0)


WORK = float(os.environ.get("REPRO_WORK_MS", "0")) / 1000  # per event: an agent that writes to a database


@app.agent(events)
async def count(stream):
    async for key, _ in stream.items():
        counts[key] += 1
        if WORK:
            await asyncio.sleep(WORK)
