"""The patch for faust-streaming #606: no offset is committed past a message still in flight."""

from collections import defaultdict

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from minicrm.streams import faust_patches

TOPIC = TP("deliveries", 0)


class Offsets:
    """The state `Consumer._new_offset` reads: committed offset, acked offsets, gaps."""

    def __init__(self, committed, acked):
        self._committed_offset = defaultdict(lambda: None, {TOPIC: committed})
        self._acked = defaultdict(list, {TOPIC: list(acked)})
        self._acked_index = defaultdict(set, {TOPIC: set(acked)})
        self._gap = defaultdict(IntervalTree)


def test_the_message_at_the_committed_offset_holds_the_commit_until_it_is_acked():
    faust_patches.install()
    state = Offsets(committed=2585, acked=[2586, 2587, 2588, 2589])  # 2585 is still in flight
    assert Consumer._new_offset(state, TOPIC) is None
    state._acked[TOPIC].append(2585)
    state._acked_index[TOPIC].add(2585)
    assert Consumer._new_offset(state, TOPIC) == 2590


def test_unpatched_faust_commits_past_it():
    state = Offsets(committed=2585, acked=[2586, 2587, 2588, 2589])
    assert faust_patches._new_offset(state, TOPIC) == 2590  # the message at 2585 would be lost


async def test_a_jump_in_offsets_is_not_taken_for_acked_messages():
    faust_patches.install()
    state = Offsets(committed=100, acked=[100])
    await Consumer._add_gap(state, TOPIC, 101, 140)  # a prefetched message at 140 came first
    state._acked[TOPIC].append(140)
    state._acked_index[TOPIC].add(140)
    assert not state._gap[TOPIC]
    assert Consumer._new_offset(state, TOPIC) == 101  # not 141: 101 to 139 are still unread
