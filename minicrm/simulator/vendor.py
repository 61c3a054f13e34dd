"""The vendor simulator: takes delivery batches, answers 202 at once, reports signed receipts later.

`POST /vendor` takes the array of deliveries. Receipts go back in signed batches, at most
four in flight, each after `latency` seconds (lowering it releases those waiting). Failure
rate, latency, duplicates, shuffling and outages come from the settings and can be changed
while it runs with `POST /vendor/control {failure_rate, latency, duplicate_rate, shuffle, receipt_batch,
outage_seconds, reject_status, body_limit, throttle_rate, error_rate, hang_rate, hang_seconds,
bounce_rate, unsubscribe_rate, loss_rate, log_calls}`; `GET /vendor/stats` counts what it took (also per campaign) and
reported, and the repeats it saw; `POST /vendor/seen` (an array of commIds) says which it took.
Recipients bounce (BOUNCED) or unsubscribe after delivery (SENT, then UNSUBSCRIBED), as real
ones do. Like a real provider it honours `Idempotency-Key` (a repeated call is answered, not
repeated), refuses a key reused for other messages (422, as Stripe and the IETF draft do), and
never delivers a `commId` twice. Receipts are retried until the edge takes them. Like real
vendors it can be rude: a body limit (413 past it, as the original Express vendor's
100 kB), 429 with `Retry-After`, 500s, calls answered after the caller gave up, outages
(503), refusals.
The `original` profile behaves as the original Node vendor: 100 kB body limit, unsigned
receipts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from minicrm import webhooks
from minicrm.settings import Settings

log = logging.getLogger(__name__)
CONCURRENT_POSTS = 4
ORIGINAL_BODY_LIMIT = 100 * 1024  # Express's default JSON body limit, which the original vendor kept


@dataclass
class Behaviour:
    failure_rate: float
    latency: float
    duplicate_rate: float
    shuffle: bool
    receipt_batch: int
    outage_until: float = 0.0
    reject_status: int = 0  # answer every call with this 4xx, as a vendor refusing for good
    body_limit: int = 0  # bytes; a larger body gets 413 (0: no limit)
    throttle_rate: float = 0.0  # share of calls answered 429 with Retry-After: 1
    error_rate: float = 0.0  # share of calls answered 500
    hang_rate: float = 0.0  # share of calls taken but answered only after hang_seconds (the caller times out)
    hang_seconds: float = 10.0
    bounce_rate: float = 0.0  # share of messages reported BOUNCED (the address does not exist)
    unsubscribe_rate: float = 0.0  # share of delivered messages followed by UNSUBSCRIBED
    loss_rate: float = 0.0  # share of messages taken and never reported, as a vendor that lost them
    signed: bool = True  # sign receipts (Standard Webhooks); the original vendor did not
    log_calls: bool = False  # log every call: its answer, key, size and first and last commIds


def outcomes(deliveries: list[dict[str, Any]], behaviour: Behaviour, rng: random.Random) -> list[dict[str, Any]]:
    """The receipts for a list of deliveries, with the configured failures, duplicates and order."""
    receipts = []
    for d in deliveries:
        if behaviour.loss_rate and rng.random() < behaviour.loss_rate:
            continue
        failed = rng.random() < behaviour.failure_rate
        bounced = not failed and rng.random() < behaviour.bounce_rate
        receipt = {
            "commId": d["commId"],
            "campaignId": d["campaignId"],
            "customerId": d.get("customerId"),
            "status": "FAILED" if failed else "BOUNCED" if bounced else "SENT",
        }
        if failed:
            receipt["reason"] = "simulated delivery failure"
        if bounced:
            receipt["reason"] = "simulated bounce: no such mailbox"
        receipts.append(receipt)
        if receipt["status"] == "SENT" and rng.random() < behaviour.unsubscribe_rate:
            receipts.append({**receipt, "status": "UNSUBSCRIBED", "reason": "simulated unsubscribe"})
        if rng.random() < behaviour.duplicate_rate:
            receipts.append(dict(receipt))
    if behaviour.shuffle:
        rng.shuffle(receipts)
    return receipts


class Simulator:
    def __init__(self, settings: Settings, seed: int | None = None) -> None:
        self.settings = settings
        original = settings.simulator_profile == "original"
        self.behaviour = Behaviour(
            settings.simulator_failure_rate,
            settings.simulator_latency,
            settings.simulator_duplicate_rate,
            settings.simulator_shuffle,
            settings.simulator_receipt_batch,
            body_limit=ORIGINAL_BODY_LIMIT if original else settings.simulator_body_limit,
            signed=not original,
        )
        self.rng = random.Random(seed)
        self.pending: list[dict[str, Any]] = []
        self.wakeup = asyncio.Event()
        self.posts = asyncio.Semaphore(CONCURRENT_POSTS)
        self.stats: dict[str, Any] = {
            "calls": 0,
            "accepted": 0,
            "reported": 0,
            "rejected_calls": 0,
            "too_large_calls": 0,
            "throttled_calls": 0,
            "error_calls": 0,
            "hung_calls": 0,
            "receipt_posts_failed": 0,
            "repeated_calls": 0,
            "repeated_messages": 0,
            "repeated_past_key": 0,
            "key_reused_calls": 0,
            "by_campaign": {},
        }
        # Like a real provider: a call whose Idempotency-Key was seen is answered again and not
        # repeated (the key reused for other messages is refused), and a message whose commId was
        # seen is not delivered again. Keys map to their calls' commIds.
        self.keys: dict[str, list[str]] = {}
        self.messages: dict[str, str] = {}  # commId -> the key it was first taken under

    async def accept(self, request: web.Request) -> web.Response:
        """`POST /vendor`; with `log_calls`, each call logged: answer, key, size, first and last commId."""
        response = await self.answer(request)
        if self.behaviour.log_calls:
            try:
                ids = [d["commId"] for d in orjson.loads(await request.read())]
            except (orjson.JSONDecodeError, TypeError, KeyError):
                ids = []
            log.info(
                "call %s key=%s bytes=%s commIds=%s",
                response.status,
                request.headers.get("Idempotency-Key"),
                request.content_length,
                f"{ids[0]}..{ids[-1]} ({len(ids)})" if ids else "-",
            )
        return response

    async def answer(self, request: web.Request) -> web.Response:
        self.stats["calls"] += 1
        limit = self.behaviour.body_limit
        if limit and (request.content_length or 0) > limit:
            self.stats["too_large_calls"] += 1
            return web.json_response({"error": "request entity too large"}, status=413)
        if self.rng.random() < self.behaviour.throttle_rate:
            self.stats["throttled_calls"] += 1
            return web.json_response({"error": "too many requests"}, status=429, headers={"Retry-After": "1"})
        if self.behaviour.reject_status:
            return web.json_response({"error": "rejected (simulated)"}, status=self.behaviour.reject_status)
        if time.monotonic() < self.behaviour.outage_until:
            self.stats["rejected_calls"] += 1
            return web.json_response({"error": "vendor outage (simulated)"}, status=503)
        if self.rng.random() < self.behaviour.error_rate:
            self.stats["error_calls"] += 1
            return web.json_response({"error": "internal error (simulated)"}, status=500)
        try:
            deliveries = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return web.json_response({"error": "malformed JSON"}, status=400)
        if not isinstance(deliveries, list) or not all(
            isinstance(d, dict) and d.get("commId") and d.get("campaignId") for d in deliveries
        ):
            return web.json_response({"error": "expected an array of {commId, campaignId, ...}"}, status=400)
        answer = {"message": "accepted for delivery", "count": len(deliveries)}
        key = request.headers.get("Idempotency-Key")
        comm_ids = [d["commId"] for d in deliveries]
        if key and key in self.keys:
            if self.keys[key] != comm_ids:
                self.stats["key_reused_calls"] += 1
                answer_422 = {"error": "the Idempotency-Key was used for other messages"}
                return web.json_response(answer_422, status=422)
            self.stats["repeated_calls"] += 1
            self.stats["repeated_messages"] += len(deliveries)
            return web.json_response(answer, status=202)
        if key:
            self.keys[key] = comm_ids
        fresh = [d for d in deliveries if d["commId"] not in self.messages]
        repeated = len(deliveries) - len(fresh)
        if repeated:
            before = sorted({self.messages[c] for c in comm_ids if c in self.messages})
            log.warning("%d messages sent again under a new key %s; first taken under %s", repeated, key, before)
        self.stats["repeated_messages"] += repeated
        self.stats["repeated_past_key"] += repeated  # a provider honouring keys only would send these twice
        self.messages.update((d["commId"], key or "") for d in fresh)
        self.pending.extend(fresh)
        self.stats["accepted"] += len(fresh)
        for d in fresh:
            self.stats["by_campaign"][d["campaignId"]] = self.stats["by_campaign"].get(d["campaignId"], 0) + 1
        self.wakeup.set()
        if self.rng.random() < self.behaviour.hang_rate:
            self.stats["hung_calls"] += 1
            await asyncio.sleep(self.behaviour.hang_seconds)
        return web.json_response(answer, status=202)

    async def control(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read() or b"{}")
        for name in (
            "failure_rate",
            "latency",
            "duplicate_rate",
            "throttle_rate",
            "error_rate",
            "hang_rate",
            "hang_seconds",
            "bounce_rate",
            "unsubscribe_rate",
            "loss_rate",
        ):
            if name in body:
                setattr(self.behaviour, name, float(body[name]))
        for name in ("reject_status", "body_limit"):
            if name in body:
                setattr(self.behaviour, name, int(body[name]))
        if "receipt_batch" in body:
            self.behaviour.receipt_batch = max(1, int(body["receipt_batch"]))
        for name in ("shuffle", "log_calls"):
            if name in body:
                setattr(self.behaviour, name, bool(body[name]))
        if "outage_seconds" in body:
            self.behaviour.outage_until = time.monotonic() + float(body["outage_seconds"])
        return web.json_response({"behaviour": self.behaviour.__dict__ | {"outage_until": None}})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats)

    async def seen(self, request: web.Request) -> web.Response:
        comm_ids = orjson.loads(await request.read() or b"[]")
        return web.json_response({"seen": [c for c in comm_ids if c in self.messages]})

    async def report(self, app: web.Application) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            tasks: set[asyncio.Task] = set()
            while True:
                await self.wakeup.wait()
                self.wakeup.clear()
                items, self.pending = self.pending, []
                receipts = outcomes(items, self.behaviour, self.rng)
                size = self.behaviour.receipt_batch
                for start in range(0, len(receipts), size):
                    await self.posts.acquire()
                    task = asyncio.create_task(self.post(session, receipts[start : start + size]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)

    async def post(self, session: aiohttp.ClientSession, receipts: list[dict[str, Any]]) -> None:
        body = orjson.dumps(receipts)
        attempt = 0
        try:
            started = time.monotonic()
            while (left := started + self.behaviour.latency - time.monotonic()) > 0:
                await asyncio.sleep(min(left, 0.25))  # a latency lowered meanwhile holds them no longer
            while True:
                headers = {"Content-Type": "application/json"}
                if self.behaviour.signed:
                    headers |= webhooks.sign(self.settings.webhook_secrets[0], body)
                try:
                    async with session.post(self.settings.receipts_url, data=body, headers=headers) as response:
                        if response.status < 300:
                            self.stats["reported"] += len(receipts)
                            return
                        log.warning("receipts answered %s: %s", response.status, (await response.text())[:200])
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    log.warning("receipts post failed: %r", exc)
                self.stats["receipt_posts_failed"] += 1
                attempt += 1
                await asyncio.sleep(min(5.0, 0.1 * 2**attempt) * random.random())
        finally:
            self.posts.release()


def create_app(settings: Settings, seed: int | None = None) -> web.Application:
    simulator = Simulator(settings, seed)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/vendor", simulator.accept)
    app.router.add_post("/vendor/control", simulator.control)
    app.router.add_get("/vendor/stats", simulator.get_stats)
    app.router.add_post("/vendor/seen", simulator.seen)

    async def reporter(app: web.Application):
        task = asyncio.create_task(simulator.report(app))
        yield
        task.cancel()

    app.cleanup_ctx.append(reporter)
    return app


def run(settings: Settings) -> None:
    web.run_app(create_app(settings), host=settings.web_host, port=settings.vendor_port, access_log=None)
