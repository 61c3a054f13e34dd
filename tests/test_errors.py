"""The error middleware: domain errors and outages become JSON answers with the right status."""

import asyncpg
import orjson
import pytest
from aiohttp.test_utils import make_mocked_request

from minicrm.edge.errors import Conflict, error_middleware
from minicrm.sql import NotFound


async def answer(exc):
    async def handler(request):
        raise exc

    response = await error_middleware(make_mocked_request("GET", "/api/logs"), handler)
    return response.status, orjson.loads(response.body), response.headers


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "refused"),
        asyncpg.exceptions.CannotConnectNowError(),
        asyncpg.exceptions.ConnectionDoesNotExistError(),
        asyncpg.exceptions.DeadlockDetectedError(),  # the moment's, as the pipeline retries it
    ],
)
async def test_a_database_outage_answers_503_not_500(exc):
    status, body, headers = await answer(exc)
    assert (status, body["error"], headers["Retry-After"]) == (503, "service unavailable", "1")


async def test_domain_errors_keep_their_status():
    assert (await answer(NotFound("no campaign x")))[:2] == (404, {"error": "not found", "detail": "no campaign x"})
    assert (await answer(Conflict([{"item": 0}])))[0] == 409
    assert (await answer(KeyError("bug")))[:2] == (500, {"error": "internal error", "detail": None})
