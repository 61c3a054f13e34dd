"""`/console`: the operator console, a page and its files served from the package (`minicrm/console`).

Plain ES modules and the vendored libraries (`minicrm/console/vendor`, each with its licence), no
build step and nothing from elsewhere: the page works offline. A strict Content-Security-Policy
allows the page's own files only (and Google's sign-in script where Google sign-in is configured).
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from aiohttp import web

from minicrm.edge.state import SETTINGS

HOME = Path(__file__).resolve().parent.parent / "console"
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}
GOOGLE = "https://accounts.google.com"


@cache
def files(folder: Path) -> dict[str, Path]:
    """The servable files of a folder by name: nothing outside it can be named."""
    return {p.name: p for p in folder.iterdir() if p.is_file() and p.suffix in TYPES}


def policy(google: bool) -> str:
    """The page's own files only; Google's sign-in script, frame and styles where configured."""
    g = f" {GOOGLE}" if google else ""
    frames = GOOGLE if google else "'none'"
    return (
        f"default-src 'self'; script-src 'self'{g}; connect-src 'self'{g}; style-src 'self'{g};"
        f" frame-src {frames}; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    )


def _headers(request: web.Request, cache_seconds: int) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy(bool(request.app[SETTINGS].google_client_id)),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": f"public, max-age={cache_seconds}" if cache_seconds else "no-cache",
    }


async def page(request: web.Request) -> web.Response:
    """The console's one page; its script reads the Google client id from a meta tag."""
    text = files(HOME)["index.html"].read_text()
    client_id = html.escape(request.app[SETTINGS].google_client_id, quote=True)
    text = text.replace("{{google_client_id}}", client_id)
    return web.Response(text=text, content_type="text/html", headers=_headers(request, 0))


def _serve(request: web.Request, folder: Path) -> web.Response:
    found = files(folder).get(request.match_info["file"])
    if found is None or found.name == "index.html":
        raise web.HTTPNotFound(text="no such file in the console")
    return web.Response(
        body=found.read_bytes(), content_type=TYPES[found.suffix], charset="utf-8", headers=_headers(request, 0)
    )


async def asset(request: web.Request) -> web.Response:
    return _serve(request, HOME)


async def vendored(request: web.Request) -> web.Response:
    return _serve(request, HOME / "vendor")
