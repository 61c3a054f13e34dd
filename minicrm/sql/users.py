"""Users, their roles (minicrm/roles.py) and their login keys (stored hashed)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from minicrm import roles
from minicrm.sql.planning import Db

COLUMNS = """
u.id, u.google_id AS "googleId", u.email, u.name, u.avatar, u.role,
u.created_at AS "createdAt", u.updated_at AS "updatedAt"
"""

UPSERT_GOOGLE_USER = f"""
INSERT INTO users AS u (id, google_id, email, name, avatar) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (google_id) DO UPDATE
SET email = excluded.email, name = excluded.name, avatar = excluded.avatar, updated_at = now()
RETURNING {COLUMNS}
"""

BY_LOGIN_KEY = f"""
UPDATE login_keys k SET last_used = now() FROM users u
WHERE k.key_hash = $1 AND u.id = k.user_id
RETURNING {COLUMNS}
"""

BY_ID = f"SELECT {COLUMNS} FROM users u WHERE u.id = $1"

CREATE_KEY_USER = """
INSERT INTO users AS u (id, email, name) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING
"""

# Roles are only ever raised here: a key issued without --role leaves an operator an operator.
MAKE_OPERATOR = f"""
UPDATE users SET role = '{roles.OPERATOR}', updated_at = now() WHERE id = $1 AND role <> '{roles.OPERATOR}'
"""

ROLE = "SELECT role FROM users WHERE id = $1"

INSERT_LOGIN_KEY = "INSERT INTO login_keys (key_hash, user_id) VALUES ($1, $2)"

ID_BY_EMAIL = "SELECT id FROM users WHERE email = $1 ORDER BY created_at LIMIT 1"


async def upsert_google_user(
    db: Db, user_id: UUID, google_id: str, email: str | None, name: str | None, avatar: str | None
) -> asyncpg.Record:
    """The user of a Google account, created (as `user_id`) or updated; its COLUMNS."""
    return await db.fetchrow(UPSERT_GOOGLE_USER, user_id, google_id, email, name, avatar)


async def by_login_key(db: Db, key_hash: str) -> asyncpg.Record | None:
    """The user holding the login key of this hash (its last use noted), or None."""
    return await db.fetchrow(BY_LOGIN_KEY, key_hash)


async def by_id(db: Db, user_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(BY_ID, user_id)


async def id_by_email(conn: Db, email: str) -> UUID | None:
    """The oldest user with this email, if any."""
    return await conn.fetchval(ID_BY_EMAIL, email)


async def create_key_user(conn: Db, user_id: UUID, email: str, name: str) -> str:
    return await conn.execute(CREATE_KEY_USER, user_id, email, name)


async def insert_login_key(conn: Db, key_hash: str, user_id: UUID) -> str:
    return await conn.execute(INSERT_LOGIN_KEY, key_hash, user_id)


async def make_operator(conn: Db, user_id: UUID) -> str:
    return await conn.execute(MAKE_OPERATOR, user_id)


async def role(db: Db, user_id: UUID) -> str | None:
    """The user's role, or None when there is no such user."""
    return await db.fetchval(ROLE, user_id)
