"""The aiohttp application factory."""

from __future__ import annotations

from typing import AsyncIterator

from aiohttp import web

from minicrm.db import create_pool
from minicrm.edge.errors import error_middleware
from minicrm.edge.producer import Publisher
from minicrm.edge.routes import setup_routes
from minicrm.ai.service import AI
from minicrm.edge.state import AI_SERVICE, POOL, PUBLISHER, SETTINGS
from minicrm.settings import Settings


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[POOL] = await create_pool(settings.database_url, max_size=10)
    publisher = Publisher(settings.kafka_bootstrap)
    await publisher.start()
    app[PUBLISHER] = publisher
    yield
    await publisher.stop()
    await app[POOL].close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[AI_SERVICE] = AI(settings)
    app.cleanup_ctx.append(_resources)
    setup_routes(app)
    return app
