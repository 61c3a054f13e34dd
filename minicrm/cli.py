"""`minicrm web|worker|vendor|migrate|topics|issue-key`: the Procfile's processes and their set-up."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys

from minicrm.settings import Settings, SettingsError, load_settings


def run_worker(settings: Settings, metrics_port: int | None = None) -> None:
    from minicrm.streams.app import current

    if metrics_port is not None:
        settings = dataclasses.replace(settings, metrics_port=metrics_port)
    sys.argv = ["minicrm worker", "worker", "--loglevel", "info", "--without-web"]
    current(settings).main()  # imports the roles' agents (autodiscovery), then runs the worker


def run_web(settings) -> None:
    from aiohttp import web

    from minicrm.edge.app import create_app

    web.run_app(create_app(settings), host=settings.web_host, port=settings.web_port, access_log=None)


def run_vendor(settings) -> None:
    from minicrm.simulator.vendor import run

    run(settings)


async def issue_key(settings, email: str, name: str, role: str):
    from minicrm import roles
    from minicrm.db import create_pool
    from minicrm.edge.auth import issue_login_key

    operator = role == roles.OPERATOR or settings.is_operator_email(email)
    pool = await create_pool(settings.database_url, max_size=1)
    try:
        return await issue_login_key(pool, email, name, operator)
    finally:
        await pool.close()


def dead_letters_command(settings, args) -> None:
    import orjson

    from minicrm import dead_letters

    if args.action == "replay":
        if args.id is None and args.topic is None:
            sys.exit("dead-letters replay needs --id N or --topic T (so that nothing is replayed by accident)")
        ids = asyncio.run(dead_letters.replay(settings, args.topic, args.id))
        print(f"replayed {len(ids)} dead letter(s): {', '.join(map(str, ids)) or 'none waiting'}")
        return

    for letter in asyncio.run(dead_letters.latest(settings, args.topic, args.id, args.limit)):
        print(orjson.dumps(letter, default=str).decode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="minicrm", description=__doc__)
    parser.add_argument(
        "command", choices=["web", "worker", "vendor", "migrate", "topics", "issue-key", "dead-letters"]
    )
    parser.add_argument("action", nargs="?", choices=["list", "replay"], help="dead-letters: list or replay")
    parser.add_argument("--id", type=int, help="dead-letters: this one only")
    parser.add_argument("--topic", help="dead-letters: this topic's only (e.g. orders)")
    parser.add_argument("--limit", type=int, default=100, help="dead-letters list: how many, newest first")
    parser.add_argument("--email", help="issue-key: the user's email (created if new)")
    parser.add_argument("--name", default="", help="issue-key: the user's name")
    parser.add_argument(
        "--role",
        choices=["marketer", "operator"],
        help="issue-key: make the user an operator (a key issued without it leaves the role as it is)",
    )
    parser.add_argument("--metrics-port", type=int, help="worker: serve Prometheus metrics on this port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    if args.command == "migrate":
        from minicrm.db import migrate

        applied = asyncio.run(migrate(settings.database_url))
        print(f"migrations applied: {', '.join(applied) or 'none (up to date)'}")
    elif args.command == "topics":
        from minicrm.topics import create_topics

        created = asyncio.run(create_topics(settings))
        print(f"topics created: {', '.join(created) or 'none (all exist)'}")
    elif args.command == "issue-key":
        if not args.email:
            sys.exit("issue-key needs --email")
        user_id, key = asyncio.run(issue_key(settings, args.email, args.name, args.role or ""))
        console = f"http://{settings.web_host}:{settings.web_port}/console"
        print(f"login key for {args.email} (user {user_id}), for the API and {console};")
        print(f"shown once, keep it secret:\n{key}")  # the last line: scripts read it
    elif args.command == "dead-letters":
        dead_letters_command(settings, args)
    elif args.command == "worker":
        run_worker(settings, args.metrics_port)
    else:
        {"web": run_web, "vendor": run_vendor}[args.command](settings)


if __name__ == "__main__":
    main()
