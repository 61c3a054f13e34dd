from __future__ import annotations

import socket
import subprocess

import aiohttp
import pytest

from support.deployment import ROOT, Pipeline, deployment, vendor

REBALANCING = {
    "test_worker_killed_mid_campaign",
    "test_two_workers_share_partitions",
    "test_a_campaign_earns_what_its_customers_order_even_through_a_killed_worker",
}


def pytest_collection_modifyitems(items):
    """Tests that make the consumer group rebalance run after the others, and the API fuzz tests
    last: the campaigns they create keep the pipeline busy for a while."""
    items.sort(key=lambda item: (item.fspath.basename == "test_api_schema.py", item.name in REBALANCING))


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def stack() -> None:
    """The real Kafka broker and PostgreSQL, started by the project's own script if needed."""
    if not (_listening(9092) and _listening(5433)):
        subprocess.run([str(ROOT / "bin" / "stack"), "infra"], check=True)


@pytest.fixture(scope="session")
async def pipeline(stack, tmp_path_factory) -> Pipeline:
    async with deployment(tmp_path_factory.mktemp("pipeline")) as p:
        yield p


@pytest.fixture(scope="session")
async def user(pipeline) -> tuple[str, str]:
    """(user id, session token) of the user the `http` client is signed in as."""
    return await pipeline.new_user()


@pytest.fixture
async def http(pipeline, user) -> aiohttp.ClientSession:
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {user[1]}"}) as session:
        yield session


@pytest.fixture(scope="session")
async def operator(pipeline) -> tuple[str, str]:
    """(user id, session token) of an operator: dead letters, suppressions, every campaign."""
    return await pipeline.new_user(role="operator")


@pytest.fixture
async def operator_http(pipeline, operator) -> aiohttp.ClientSession:
    headers = {"Authorization": f"Bearer {operator[1]}"}
    async with aiohttp.ClientSession(base_url=pipeline.url, headers=headers) as session:
        yield session


@pytest.fixture(scope="session")
async def db_pool(pipeline):
    """A pool on the test deployment's real database, for tests of the storage paths."""
    from minicrm.db import create_pool

    pool = await create_pool(pipeline.settings.database_url, max_size=4)
    yield pool
    await pool.close()


NORMAL_VENDOR = dict(
    failure_rate=0.1,
    duplicate_rate=0,
    shuffle=False,
    latency=0.05,
    receipt_batch=1000,
    outage_seconds=0,
    reject_status=0,
    body_limit=0,
    throttle_rate=0,
    error_rate=0,
    hang_rate=0,
    bounce_rate=0,
    unsubscribe_rate=0,
    loss_rate=0,
)


@pytest.fixture
async def normal_vendor(pipeline):
    """The simulator as configured by default, before and after the test, and the workers knowing
    no body limit of it (one test's limit, learnt from 413s, would shape the next one's calls)."""
    await vendor(pipeline, **NORMAL_VENDOR)
    await forget_vendor_limits(pipeline)
    yield
    await vendor(pipeline, **NORMAL_VENDOR)
    await forget_vendor_limits(pipeline)


async def forget_vendor_limits(pipeline) -> None:
    conn = await pipeline.db()
    try:
        await conn.execute("DELETE FROM vendor_limits")
    finally:
        await conn.close()
