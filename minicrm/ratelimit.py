"""A token bucket: at most `rate` acquisitions a second, with bursts up to `burst`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def wait_time(self, tokens: float = 1.0) -> float:
        """Takes `tokens` (at most the burst) if they are there (0.0), or says how long until they are."""
        tokens = min(tokens, self.capacity)
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= tokens:
            self.tokens -= tokens
            return 0.0
        return (tokens - self.tokens) / self.rate

    async def acquire(self, tokens: float = 1.0) -> None:
        while (delay := self.wait_time(tokens)) > 0:
            await asyncio.sleep(delay)
