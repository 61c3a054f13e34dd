"""Splitting a batch into consecutive parts whose encoding fits a byte limit.

Used wherever a batch leaves the process as one body: Kafka records (the producer and the
broker refuse records past their limits) and vendor calls (vendors cap request bodies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class TooLarge(ValueError):
    """One item alone encodes past the limit: no split can make it fit."""


def fit(
    items: Sequence[T], encode: Callable[[list[T]], bytes], max_bytes: int, keep_oversized: bool = False
) -> list[tuple[list[T], bytes]]:
    """Consecutive parts of `items` with their encodings, each at most `max_bytes` long
    (no limit when `max_bytes` is 0). A part over the limit is halved until it fits, so the
    common case costs one encoding; order is kept. One item past the limit alone raises
    TooLarge, or is a part of its own with `keep_oversized`."""
    parts: list[tuple[list[T], bytes]] = []

    def place(part: list[T]) -> None:
        data = encode(part)
        if not max_bytes or len(data) <= max_bytes or (len(part) == 1 and keep_oversized):
            parts.append((part, data))
        elif len(part) == 1:
            raise TooLarge(f"one item encodes to {len(data):,} bytes, past the limit of {max_bytes:,}")
        else:
            middle = len(part) // 2
            place(part[:middle])
            place(part[middle:])

    if items:
        place(list(items))
    return parts
