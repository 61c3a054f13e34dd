"""The one list of failures that are the moment's (the connection, the server, a lock), never
the record's or the request's: the pipeline retries them, the edge answers 503 to them."""

from __future__ import annotations

import asyncio

import asyncpg

TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.LockNotAvailableError,
)

# A connection broken in the middle of an operation (the server shutting down) surfaces as
# these, and so does a programming error: retried a few times, then final, so that a
# database restart is ridden out and a bug is not retried forever.
SUSPECT = (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)
SUSPECT_ATTEMPTS = 5


def is_transient(exc: BaseException, attempt: int = 0) -> bool:
    """True for an outage (retry), False for a failure of the record itself (dead letter).
    `attempt` is how many times this action has failed already."""
    return isinstance(exc, TRANSIENT) or (isinstance(exc, SUSPECT) and attempt < SUSPECT_ATTEMPTS)
