"""A clock in front of the vendor: notes when each message's call arrives, then passes the call on.

The journeys benchmark points the fan-out here, so "order accepted → vendor call" is measured
where the call lands, in a process of its own (the benchmark's own loop, busy posting orders,
would delay the stamps). On SIGTERM it writes `{commId: epoch seconds}` to `--out`.

    python bench/vendor_clock.py --port P --forward http://127.0.0.1:3500/vendor --out arrivals.json
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

PASSED_HEADERS = ("Content-Type", "Idempotency-Key")


def create_app(forward: str, arrivals: dict[str, float]) -> web.Application:
    app = web.Application(client_max_size=64 * 2**20)

    async def call(request: web.Request) -> web.Response:
        now = time.time()
        body = await request.read()
        try:
            for message in orjson.loads(body):
                arrivals.setdefault(message["commId"], now)
        except (orjson.JSONDecodeError, TypeError, KeyError):
            pass  # the vendor answers what it answers to a malformed call
        headers = {h: request.headers[h] for h in PASSED_HEADERS if h in request.headers}
        async with app["session"].post(forward, data=body, headers=headers) as answer:
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                headers={h: answer.headers[h] for h in ("Content-Type", "Retry-After") if h in answer.headers},
            )

    async def session(app: web.Application):
        app["session"] = aiohttp.ClientSession()
        yield
        await app["session"].close()

    app.cleanup_ctx.append(session)
    app.router.add_post("/vendor", call)
    return app


async def main(port: int, forward: str, out: Path) -> None:
    arrivals: dict[str, float] = {}
    runner = web.AppRunner(create_app(forward, arrivals))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    out.write_bytes(orjson.dumps(arrivals))
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--forward", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.forward, args.out))
