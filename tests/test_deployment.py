"""The test harness's private deployments leave nothing behind on the shared broker and server."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from minicrm import kafka_clients
from support.deployment import ADMIN_DSN, Pipeline, eventually

pytestmark = pytest.mark.integration


async def test_a_dropped_deployment_leaves_no_database_and_no_topics(stack, tmp_path):
    pipeline = Pipeline(tmp_path)
    await pipeline.create()
    prefix = pipeline.settings.topic_prefix

    async def ours() -> list[str]:
        admin = AIOKafkaAdminClient(**kafka_clients.client_options(pipeline.settings))
        await admin.start()
        try:
            return [t for t in await admin.list_topics() if t.startswith(prefix)]
        finally:
            await admin.close()

    assert len(await ours()) >= 5
    await pipeline.drop()
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", pipeline.database) == 0
    finally:
        await conn.close()

    async def gone() -> bool:  # the broker deletes topics in the background
        return await ours() == []

    await eventually(gone, timeout=30)
