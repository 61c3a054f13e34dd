"""The aiohttp application factory."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

from aiohttp import web

from minicrm.ai.service import AI
from minicrm.db import create_pool
from minicrm.edge.auth import Auth, session_middleware
from minicrm.edge.errors import error_middleware
from minicrm.edge.monitoring import metrics_middleware
from minicrm.edge.producer import Publisher
from minicrm.edge.routes import setup_routes
from minicrm.edge.state import AI_SERVICE, AUTH, POOL, PUBLISHER, SETTINGS
from minicrm.settings import Settings

log = logging.getLogger(__name__)


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[POOL] = await create_pool(settings.database_url, max_size=10)
    publisher = Publisher(settings)
    await publisher.start()
    app[PUBLISHER] = publisher
    yield
    await publisher.stop()
    await app[POOL].close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[metrics_middleware, error_middleware, session_middleware]
    )
    app[SETTINGS] = settings
    app[AI_SERVICE] = AI(settings)
    if settings.open_mode:
        log.warning("OPEN MODE: no sign-in and no receipt signatures; for local use with the original clients only")
    secret = settings.session_secret
    if not secret and not settings.open_mode:
        log.warning("MINICRM_SESSION_SECRET is not set: sessions are signed with a key of this process only")
        secret = secrets.token_urlsafe(32)
    app[AUTH] = Auth(settings, secret)
    app.cleanup_ctx.append(_resources)
    setup_routes(app)
    return app
