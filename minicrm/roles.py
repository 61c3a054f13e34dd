"""Who may call what: each route's role, and what each user's role allows.

A route is `public` (no session: sign-in, probes, the signed receipts, the console's own
files), `marketer` (any signed-in user; reads and changes their own campaigns and journeys)
or `operator` (dead letters and their replay, the suppression list, vendor health). An
operator is also a marketer who sees and acts on every user's campaigns and journeys.
"""

from __future__ import annotations

PUBLIC = "public"
MARKETER = "marketer"
OPERATOR = "operator"
USER_ROLES = (MARKETER, OPERATOR)
"""The roles a user holds (the `users.role` column's CHECK lists the same)."""
ROUTE_ROLES = (PUBLIC, *USER_ROLES)


def allows(user_role: str, route_role: str) -> bool:
    """Whether a signed-in user of `user_role` may call a route of `route_role`."""
    return route_role != OPERATOR or user_role == OPERATOR


def sees_everyone(user_role: str) -> bool:
    """Whether the user reads and acts on every user's campaigns and journeys, not only their own."""
    return user_role == OPERATOR


def parse(role: str) -> str:
    """A user's role as given (`--role`, a setting); ValueError names the choices."""
    if role not in USER_ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(USER_ROLES)}")
    return role
