"""Vendor fan-out: each delivery batch goes to the vendor, retried until it lands.

A batch is never dropped. A call that times out or fails is retried with capped
exponential backoff and jitter, or after the vendor's `Retry-After` when it gives one;
after `vendor_pause_after` failures in a row, or once the vendor's error rate over the
last `vendor_error_window` seconds passes `vendor_error_threshold`, the campaign is marked
PAUSED with the reason (no more of its batches go out while the vendor is down, as the
partition waits on this one), and it is set RUNNING again by the first call that succeeds.
A vendor that rejects a batch outright (another 4xx but 408, 413, 425 and 429) fails those
messages for good, with its answer as the reason.

Every call carries an `Idempotency-Key` derived from the messages it holds, and each message
its `commId`. Providers keep keys per request (Stripe, Twilio, SendGrid; Stripe refuses a key
reused with other parameters), so a message is sent once only if every attempt at its call,
on any worker, before or after a restart, holds the same messages. So the calls of a batch
are a function of the record and of what every worker reads: runs of the campaign's rate,
each halved (`sizing.fit`) until its body fits the vendor's limit, the configured one or the
one learnt from its 413s and kept in PostgreSQL (`sql.deliveries`). A 413 for a body of B
bytes sets the limit to B - 1 (only ever lowered) and the refused call is halved at once, so
the limit every worker reads is never below the vendor's: a call the vendor took fits every
limit read since, so every later split keeps it whole, and a split from a larger limit is
refused (413) before it sends anything. One message past the limit alone fails.

Before every call the campaign's state is looked at (read at most every `GATE_TTL`
seconds, and read again before it stops a batch: a batch published by a resume must not meet
the pause cached a moment before): a campaign the user paused or cancelled, or a batch from
before a resume (an older delivery epoch), gets no call; its messages stay as they are, and a resume
publishes the pending ones again. Before a batch's first call, one statement looks its
recipients up in the suppression list: a message whose recipient opted out since
segmentation is never sent; it ends SKIPPED ("opted out") and is counted as segmentation
counts such customers. A campaign's `rate_per_second` caps its messages per second, under the
vendor-wide `vendor_rate` of calls, across all workers together: each worker keeps its share
of both, the share of the deliveries partitions it holds (a campaign's batches are spread over
the partitions, keyed past the campaign id), so the shares add up to the whole whatever the
group's size. A call holds at most `rate_per_second` messages whatever the share (the calls of
a batch must not depend on who sends them): a worker with a smaller share sends them less often.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from uuid import UUID

import aiohttp
import asyncpg
import orjson

from minicrm import campaign_states as states
from minicrm import metrics, sizing, sql, topics
from minicrm.error_window import failing
from minicrm.ratelimit import TokenBucket
from minicrm.records import DeliveryBatch, VendorCall
from minicrm.streams.app import app, settings
from minicrm.streams.batching import backoff, guarded, retry_forever
from minicrm.streams.recording import record_outcomes, request_summary
from minicrm.streams.resources import pool, resources

log = logging.getLogger(__name__)
deliveries_topic = app.topic_of(topics.DELIVERIES)
vendor_calls_topic = app.topic_of(topics.VENDOR_CALLS)
RETRYABLE_4XX = {408, 425, 429}
HEALTH_FRESH = 10.0  # seconds the live view's vendor figures are trusted
GATE_TTL = 0.5  # seconds a campaign's state is trusted: a pause stops its calls within this
LIMIT_TRUSTED = 3600.0  # seconds a learnt body limit is kept: a vendor that raised its limit is asked again
HANDED_EVERY = 10.0  # seconds between a worker's notes that the vendor took a campaign's calls
learnt = resources.fan_out


class VendorRejected(Exception):
    """The vendor refused the batch for good (a 4xx other than 408, 413, 425 and 429)."""


class BodyTooLarge(Exception):
    """The vendor refused the call's body, of `size` bytes, as too large (413)."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class VendorBusy(Exception):
    """The vendor is overloaded or down (5xx, 408, 425, 429); `retry_after` seconds if it said."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def idempotency_key(deliveries: list[dict]) -> str:
    """The same for the same messages, on every retry, restart and rebalance."""
    return hashlib.sha256("\n".join(d["commId"] for d in deliveries).encode()).hexdigest()[:40]


def retry_after(value: str | None, cap: float = 60.0) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(cap, max(0.0, seconds))


def outcome_of(status: int) -> str:
    """A vendor answer's class: ok, too_large (413), rejected (a 4xx for good), busy (retried)."""
    if status < 300:
        return "ok"
    if status == 413:
        return "too_large"
    return "rejected" if status < 500 and status not in RETRYABLE_4XX else "busy"


async def call_vendor(deliveries: list[dict]) -> None:
    await vendor_rate().acquire()
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key(deliveries)}
    body = orjson.dumps(deliveries)
    started, outcome = time.perf_counter(), "error"  # a timeout or a broken connection, unless answered
    try:
        async with resources.http().post(settings.vendor_url, data=body, headers=headers) as response:
            answer = (await response.text())[:300]
            outcome = outcome_of(response.status)
    finally:
        metrics.VENDOR_CALLS.labels(outcome).inc()
        metrics.VENDOR_CALL_SECONDS.observe(time.perf_counter() - started)
    if outcome == "ok":
        metrics.VENDOR_MESSAGES.inc(len(deliveries))
        return
    message = f"vendor answered {response.status}: {answer}"
    if outcome == "too_large":
        raise BodyTooLarge(message, len(body))
    if outcome == "rejected":
        raise VendorRejected(message)
    raise VendorBusy(message, retry_after(response.headers.get("Retry-After")))


async def campaign_state(campaign_id: UUID, fresh: bool = False) -> asyncpg.Record | None:
    """The campaign's status, pauser, delivery epoch and rate, at most GATE_TTL seconds old
    (read now if `fresh`)."""
    now = time.monotonic()
    cached = learnt.gates.get(campaign_id)
    if cached and now - cached[0] < GATE_TTL and not fresh:
        return cached[1]
    db = await pool()
    row = await retry_forever(lambda: sql.campaigns.delivery_gate(db, campaign_id), "campaign state")
    if len(learnt.gates) > 10_000:
        learnt.gates.clear()
    learnt.gates[campaign_id] = (now, row)
    return row


async def may_send(batch: DeliveryBatch) -> bool:
    """Whether the batch's messages go to the vendor now (a test send always does)."""
    if batch.test:
        return True

    def allowed(state: asyncpg.Record | None) -> bool:
        return (
            state is not None
            and states.delivering(state["status"], state["paused_by"])
            and batch.epoch >= state["delivery_epoch"]
        )

    campaign_id = UUID(batch.campaign_id)
    return allowed(await campaign_state(campaign_id)) or allowed(await campaign_state(campaign_id, fresh=True))


def share() -> float:
    """This worker's share of the deliveries partitions (of the rates), from its assignment."""
    topic = deliveries_topic.get_topic_name()
    mine = sum(1 for tp in app.consumer.assignment() if tp.topic == topic)
    return min(1.0, max(1, mine) / settings.partitions)  # one at least: it sends only what it holds


def vendor_rate() -> TokenBucket:
    """This worker's share of the vendor-wide rate of calls."""
    rate = settings.vendor_rate * share()
    if learnt.vendor_rate.rate != rate:
        learnt.vendor_rate = TokenBucket(rate, burst=max(1.0, settings.vendor_rate))
    return learnt.vendor_rate


def rate_of(campaign_id: UUID, per_second: float | None) -> TokenBucket | None:
    """This worker's share of the campaign's message rate, if it has one; a burst of the whole rate,
    so that a call of `rate_per_second` messages can go at once."""
    if not per_second:
        return None
    rate = per_second * share()
    limiter = learnt.campaign_rates.get(campaign_id)
    if limiter is None or limiter.rate != rate:
        if len(learnt.campaign_rates) > 10_000:
            learnt.campaign_rates.clear()
        limiter = learnt.campaign_rates[campaign_id] = TokenBucket(rate, burst=max(1.0, per_second))
    return limiter


def parts(deliveries: list[dict], most: int | None = None, max_bytes: int = 0) -> list[list[dict]]:
    """The batch's calls: consecutive runs of at most `most` messages, each halved until its
    body is at most `max_bytes` (0: no limit), down to single messages. The same for the same
    record and limit; and a call that fits a limit stays whole under any larger one."""
    size = most or len(deliveries) or 1
    runs = [deliveries[i : i + size] for i in range(0, len(deliveries), size)]
    if not max_bytes:
        return runs
    return [part for run in runs for part, _ in sizing.fit(run, orjson.dumps, max_bytes, keep_oversized=True)]


def body_limit(learnt: int | None) -> int:
    """The tighter of the configured limit and the learnt one (0: none known)."""
    known = [n for n in (settings.vendor_max_body_bytes, learnt) if n]
    return min(known, default=0)


def failed(deliveries: list[dict], reason: str) -> list[dict]:
    return [{"commId": d["commId"], "status": states.MESSAGE_FAILED, "reason": reason} for d in deliveries]


async def vendor_status(campaign_id: UUID, change: Callable[..., Awaitable[str]], *args: str) -> None:
    """The vendor's pause (`sql.campaigns.vendor_pause`, with the reason) or its end (`vendor_resume`)."""
    db = await pool()
    await retry_forever(lambda: change(db, campaign_id, *args), "campaign status")
    log.warning("campaign %s: %s", campaign_id, args[0] if args else "the vendor works again: RUNNING")


async def pause_reason(failures: int, exc: BaseException) -> str | None:
    """Why the campaign should pause now, or None while the vendor looks usable: failures in a
    row here, this worker's error window, or the live view's window over every worker's calls."""
    if failures >= settings.vendor_pause_after:
        return f"the vendor failed {failures} calls in a row (last: {exc})"
    if learnt.errors.unhealthy():
        failed, total = learnt.errors.failures()
        return f"the vendor failed {failed} of its last {total} calls (last: {exc})"
    if everywhere := await vendor_health():
        ok, failed, window = everywhere
        if failing(failed, ok + failed, settings.vendor_error_threshold):
            return f"the vendor failed {failed} of {ok + failed} calls of all workers in {window:.0f} s (last: {exc})"
    return None


async def vendor_health() -> tuple[int, int, float] | None:
    """The live view's figures for the vendor (`vendor_health`), if the `live` worker keeps them fresh."""
    db = await pool()
    row = await retry_forever(lambda: sql.live.vendor_health(db, settings.vendor_url, HEALTH_FRESH), "vendor health")
    return (row["ok"], row["failed"], row["window_seconds"]) if row else None


async def report_call(ok: bool) -> None:
    """This worker's error window, and the live view's (every worker's calls)."""
    learnt.errors.record(ok=ok)
    await vendor_calls_topic.send(key=settings.vendor_url, value=VendorCall(vendor=settings.vendor_url, ok=ok))


async def note_handed(campaign_id: UUID) -> None:
    """The vendor took a call of the campaign: its receipts are awaited afresh (`receipt_timeout`).
    Written at most every HANDED_EVERY seconds per campaign by each worker."""
    now = time.monotonic()
    every = min(HANDED_EVERY, settings.receipt_timeout / 10)
    if now - learnt.handed.get(campaign_id, -every) < every:
        return
    if len(learnt.handed) > 10_000:
        learnt.handed.clear()
    learnt.handed[campaign_id] = now
    db = await pool()
    await retry_forever(lambda: sql.receipts.handed(db, campaign_id), "campaign handed")


async def send(batch: DeliveryBatch, deliveries: list[dict]) -> None:
    """One call's worth of messages, retried until the vendor takes or refuses them, or until
    the campaign no longer sends (paused by its user, cancelled, resumed since)."""
    campaign_id = UUID(batch.campaign_id)
    failures, paused = 0, False
    while await may_send(batch):
        try:
            try:
                await call_vendor(deliveries)
            except VendorRejected as exc:  # the vendor works; it refuses these messages
                await record_outcomes(campaign_id, failed(deliveries, str(exc)))
            await report_call(ok=True)
            if not batch.test:
                await note_handed(campaign_id)
            if paused:
                await vendor_status(campaign_id, sql.campaigns.vendor_resume)
            return
        except (TimeoutError, VendorBusy, aiohttp.ClientError, OSError) as exc:
            failures += 1
            await report_call(ok=False)
            if not paused and (reason := await pause_reason(failures, exc)):
                await vendor_status(campaign_id, sql.campaigns.vendor_pause, reason)
                paused = True
            told = exc.retry_after if isinstance(exc, VendorBusy) else None
            delay = told if told is not None else backoff(failures, settings.vendor_backoff_max)
            log.warning("vendor call failed (%r), attempt %d; retry in %.2fs", exc, failures, delay)
            await asyncio.sleep(delay)


async def before_calls(batch: DeliveryBatch) -> tuple[set[str], int]:
    """The batch's messages whose recipients opted out (now SKIPPED), and the vendor's body limit:
    one statement, right before the batch's calls. A test send goes to whom the user chose."""
    campaign_id = UUID(batch.campaign_id)
    ids, emails = (
        ([], []) if batch.test else ([d["commId"] for d in batch.deliveries], [d["email"] for d in batch.deliveries])
    )
    db = await pool()
    found = await retry_forever(
        lambda: sql.deliveries.before_calls(db, campaign_id, ids, emails, settings.vendor_url, LIMIT_TRUSTED),
        "opt-outs and vendor limit",
    )
    if found["skipped"]:
        log.info("campaign %s: %d messages not sent, their recipients opted out", campaign_id, found["skipped"])
    if found["needs_summary"]:
        await request_summary(campaign_id)
    return set(found["opted_out"]), body_limit(found["max_bytes"])


async def learn_limit(refused: int) -> int:
    """The vendor refused a body of `refused` bytes (413): the limit every worker now splits by."""
    db = await pool()
    limit = await retry_forever(
        lambda: sql.deliveries.learn(db, settings.vendor_url, refused, LIMIT_TRUSTED), "vendor limit"
    )
    log.warning("vendor refused %d bytes as too large; calls now at most %d bytes", refused, limit)
    return body_limit(limit)


async def deliver(batch: DeliveryBatch) -> None:
    campaign_id = UUID(batch.campaign_id)
    state = None if batch.test else await campaign_state(campaign_id)
    per_second = state and state["rate_per_second"]
    own_rate = rate_of(campaign_id, per_second)
    most = max(1, int(per_second)) if per_second else None  # the whole rate's, on every worker
    if not await may_send(batch):
        return
    opted_out, limit = await before_calls(batch)
    calls = deque(parts(batch.deliveries, most, limit))
    while calls:
        call = calls.popleft()
        part = [d for d in call if d["commId"] not in opted_out]  # split before: the other calls keep their keys
        if not part:
            continue
        if own_rate:
            await own_rate.acquire(len(part))
        if not await may_send(batch):  # after the wait for the rate: a paced call waits up to a second
            return
        try:
            await send(batch, part)
        except BodyTooLarge as exc:
            if len(part) == 1:
                await record_outcomes(
                    campaign_id, failed(part, f"the vendor refuses this message as too large ({exc})")
                )
                continue
            limit = await learn_limit(exc.size)
            calls.extendleft(reversed(parts(call, most, limit)))  # extendleft reverses: the first goes first


@app.agent(deliveries_topic, concurrency=4)
async def fan_out(stream):
    async for batch in stream:
        await guarded(
            await pool(),
            deliveries_topic.get_topic_name(),
            batch,
            lambda: deliver(batch),
            on_dead=lambda reason: record_outcomes(UUID(batch.campaign_id), failed(batch.deliveries, reason)),
        )
