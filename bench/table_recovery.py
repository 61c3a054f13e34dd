"""Does a Faust windowed table's changelog recovery stall after a SIGKILL? (issue 13)

Runs bench/table_recovery_app.py (one agent, one tumbling table, our broker and our pinned
faust-streaming) `--runs` times: events flow, the worker is killed with SIGKILL mid-stream
and started again, and the run counts as stalled when the group's committed offsets do not
reach the topic's end within `--timeout` seconds after the restart. Each run prints the
seconds to catch up (or STALLED with the recovery lines of the log); the last line is

    table recovery: R runs, stalled S, catch-up max M s

    .venv/bin/python bench/table_recovery.py [--runs 20] [--patches] [--quiet-restart] [--work-ms 1]
                                             [--standbys 1] [--recovery-delay 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = "127.0.0.1:9092"


def start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "faust"), "-A", "table_recovery_app", "worker", "-l", "info", "--without-web"],
        cwd=ROOT / "bench",
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str, topic: str) -> int:
    """Events of `topic` past the group's committed offsets."""
    partitions = [TopicPartition(topic, p) for p in range(4)]
    committed = await admin.list_consumer_group_offsets(group)
    end = await consumer.end_offsets(partitions)
    return sum(end[tp] - max(0, committed[tp].offset if tp in committed else 0) for tp in partitions)


async def produce(producer: AIOKafkaProducer, topic: str, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        batch = [producer.send(topic, key=f"k{(n + i) % 50}".encode(), value=b"x") for i in range(100)]
        await asyncio.gather(*batch)
        n += 100
        await asyncio.sleep(0.05)  # about 2,000 events a second


async def one_run(run: int, args, workdir: Path) -> float | None:
    name = f"repro-{uuid.uuid4().hex[:8]}"
    topic = f"{name}-events"
    env = {
        **os.environ,
        "REPRO_TOPIC": name,
        "REPRO_DATADIR": str(workdir / name),
        "PYTHONPATH": str(ROOT),
        "REPRO_PATCHES": "1" if args.patches else "0",
        "REPRO_STANDBYS": str(args.standbys),
        "REPRO_RECOVERY_DELAY": str(args.recovery_delay),
        "REPRO_WORK_MS": str(args.work_ms),
    }
    log = workdir / f"{name}.log"
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    for client in (producer, admin, consumer):
        await client.start()
    worker = start(env, log)
    stop = asyncio.Event()
    try:
        await asyncio.sleep(8)  # the worker joins and creates its topics
        flow = asyncio.create_task(produce(producer, topic, stop))
        await asyncio.sleep(args.before_kill)  # the table fills, its changelog grows
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        if args.quiet_restart:  # every event is in the topic before the next worker starts
            stop.set()
            await flow
        await asyncio.sleep(1)
        worker = start(env, log)
        await asyncio.sleep(args.after_restart)
        stop.set()
        await flow
        restarted = time.monotonic()
        deadline = restarted + args.timeout
        while time.monotonic() < deadline:
            if await lag(admin, consumer, name, topic) == 0:
                return time.monotonic() - restarted
            await asyncio.sleep(0.5)
        return None
    finally:
        stop.set()
        try:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(worker.pid, signal.SIGKILL)
        await producer.stop()
        await consumer.stop()
        await admin.close()


async def main(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="table-recovery-"))
    print(
        f"logs in {workdir}; patches {'on' if args.patches else 'off'}, agent {args.work_ms} ms per event, "
        f"{'events stopped before' if args.quiet_restart else 'events flowing during'} the restart, "
        f"standbys {args.standbys}, stream_recovery_delay {args.recovery_delay}",
        flush=True,
    )
    times, stalled = [], 0
    for run in range(1, args.runs + 1):
        took = await one_run(run, args, workdir)
        if took is None:
            stalled += 1
            print(f"run {run:2}: STALLED (lag not 0 after {args.timeout:.0f} s)", flush=True)
        else:
            times.append(took)
            print(f"run {run:2}: caught up {took:5.1f} s after the events stopped", flush=True)
    print(f"table recovery: {args.runs} runs, stalled {stalled}, catch-up max {max(times, default=0):.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--patches", action="store_true", help="install minicrm's faust_patches")
    parser.add_argument("--standbys", type=int, default=0)
    parser.add_argument("--recovery-delay", type=float, default=0.0)
    parser.add_argument("--before-kill", type=float, default=5.0)
    parser.add_argument("--after-restart", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--quiet-restart",
        action="store_true",
        help="stop the events before the restart: the next worker finds them all waiting",
    )
    parser.add_argument("--work-ms", type=float, default=0.0, help="the agent's time per event (a slow consumer)")
    sys.exit(asyncio.run(main(parser.parse_args())))
