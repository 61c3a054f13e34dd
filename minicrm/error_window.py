"""The vendor's recent error rate: outcomes of the calls in the last `span` seconds.

A campaign is paused when this rate passes a threshold (listmonk's "sliding window"), not
only after N failures in a row: a vendor failing every other call is as unusable.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MIN_CALLS = 10  # fewer calls than this say nothing about a vendor


def failing(failed: int, total: int, threshold: float, min_calls: int = MIN_CALLS) -> bool:
    """Whether `failed` of `total` calls make a vendor unusable."""
    return total >= min_calls and failed / total >= threshold


class ErrorWindow:
    def __init__(
        self, span: float, threshold: float, min_calls: int = MIN_CALLS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.span, self.threshold, self.min_calls, self.clock = span, threshold, min_calls, clock
        self.calls: deque[tuple[float, bool]] = deque()

    def record(self, ok: bool) -> None:
        self.calls.append((self.clock(), ok))
        self._forget()

    def _forget(self) -> None:
        horizon = self.clock() - self.span
        while self.calls and self.calls[0][0] < horizon:
            self.calls.popleft()

    def failures(self) -> tuple[int, int]:
        """(failed, all) calls in the window."""
        self._forget()
        return sum(not ok for _, ok in self.calls), len(self.calls)

    def unhealthy(self) -> bool:
        return failing(*self.failures(), self.threshold, self.min_calls)
