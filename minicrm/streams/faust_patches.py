"""Fixes to faust-streaming (0.15.3, pinned below 0.16) that the pipeline relies on, each with
its upstream issue. Installed when the Faust app is created; remove each once upstream has it.
"""

from __future__ import annotations

from typing import Optional

from faust.transport.consumer import Consumer
from faust.types import TP

_new_offset = Consumer._new_offset


def new_offset_never_past_in_flight(self: Consumer, tp: TP) -> Optional[int]:
    """faust-streaming #606 (fix proposed in PR #707): under agent concurrency, Faust committed
    an offset past a message still being processed when that message sat right at the committed
    offset (the head-gap check is `> 1`, an off-by-one that takes the in-flight message for a
    compacted-topic gap). A worker killed then never processes it: the chaos run lost a delivery
    batch this way. Here nothing is committed while the message at the committed offset is not
    acked."""
    committed = self._committed_offset[tp]
    acked = self._acked[tp]
    if acked and committed is not None and min(acked) > committed:
        return None
    return _new_offset(self, tp)


async def no_gaps(self: Consumer, tp: TP, offset_from: int, offset_to: int) -> None:
    """Faust takes a jump in the offsets it reads for a gap (a compacted topic, transaction
    markers) and counts the missing offsets as acked. Our topics have no gaps (no compaction,
    no transactions), but after a rebalance or a broker restart a prefetched message can arrive
    ahead of its predecessors (faust-streaming #221), and those were then committed unread: the
    chaos run lost a whole delivery batch so. The skipped messages are read again in order."""


def install() -> None:
    Consumer._new_offset = new_offset_never_past_in_flight
    Consumer._add_gap = no_gaps
