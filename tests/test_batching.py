import asyncpg

from minicrm.streams.batching import guarded, store


class FakePool:
    """Records dead letters; the only call these paths make on the pool."""

    def __init__(self):
        self.dead = []

    async def execute(self, query, *args):
        assert "dead_letters" in query
        self.dead.append(args)


async def test_a_failure_is_dead_lettered_not_raised():
    pool = FakePool()

    async def boom():
        raise ValueError("bad record")

    await guarded(pool, "topic", {"id": "r1"}, boom)
    assert pool.dead == [("topic", "r1", {"id": "r1"}, "ValueError: bad record")]


async def test_an_outage_is_retried_until_it_passes():
    pool, calls = FakePool(), []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError("connection refused")

    await guarded(pool, "topic", {"id": "r1"}, flaky)
    assert len(calls) == 3 and pool.dead == []


class SplitPool(FakePool):
    """Rejects any batch holding a record with a negative value, as a CHECK constraint would."""

    def __init__(self):
        super().__init__()
        self.written = []

    def acquire(self):
        class Conn:
            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return False

            def transaction(self):
                return self

        return Conn()


async def test_store_bisects_a_batch_down_to_the_bad_records():
    pool = SplitPool()

    async def write(conn, part):
        if any(r["id"] < 0 for r in part):
            raise asyncpg.exceptions.CheckViolationError("negative")
        pool.written.extend(part)

    batch = [{"id": i} for i in (1, 2, -3, 4, -5, 6, 7)]
    await store(pool, "topic", batch, write)
    assert sorted(r["id"] for r in pool.written) == [1, 2, 4, 6, 7]
    assert [d[1] for d in pool.dead] == ["-3", "-5"]
