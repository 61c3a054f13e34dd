"""Typed application state shared by the views."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from minicrm.ai.service import AI
from minicrm.edge.producer import Publisher
from minicrm.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
PUBLISHER = web.AppKey("publisher", Publisher)
AI_SERVICE = web.AppKey("ai", AI)
AUTH: web.AppKey[Auth] = web.AppKey("auth")
ROUTE_ROLES = web.AppKey("route_roles", dict)
"""(method, path) of each route: its role, from the route table (`minicrm/edge/routes.py`)."""

if TYPE_CHECKING:
    from minicrm.edge.auth import Auth
