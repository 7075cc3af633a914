"""The situation room: the static web page in ``web/``, served at ``/`` on the hub's own port.

The page is plain files (HTML, CSS, JavaScript modules, no build step) that
talk to the hub only through its HTTP API and WebSocket stream, so serving
it is a file lookup. This module does that lookup safely — only files under
``web/``, only known types, with the exact content type (``nosniff`` is on)
— and adds the page's Content-Security-Policy: no inline script or style,
nothing loaded or contacted outside the hub's origin.

``web/`` is found next to the ``hub`` package when it is installed (package
data ``hub.web``, mapped from ``web/`` in pyproject.toml, like the schemas)
or at the repository root when running from a checkout.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from hub import keys

log = logging.getLogger(__name__)

# `connect-src 'self'` also covers ws:// and wss:// to the same host and port (CSP Level 3;
# Chromium honours it — tests/test_web.py checks the live stream works under this policy).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

# Files are not fingerprinted (no build step), so browsers may keep them but must revalidate
# each time (a cheap 304 through Last-Modified): a new deployment is picked up on the next load.
CACHE_CONTROL = "no-cache"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}


def find_web_root() -> Path | None:
    """The folder holding the page's ``index.html``: installed package data first, then the checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "web", package.parent / "web"):
        if (candidate / "index.html").is_file():
            return candidate.resolve()
    return None


def add_routes(app: web.Application, root: Path | None = None) -> None:
    """Serve the situation room at ``/`` and its files under ``/static/``."""
    root = root or find_web_root()
    if root is None:
        log.warning("the situation room's files (web/index.html) were not found: / is not served")
        return
    app[keys.WEB_ROOT] = root
    app.router.add_get("/", index)
    app.router.add_get("/static/{path:.+}", asset)


def _file(path: Path) -> web.FileResponse:
    return web.FileResponse(
        path,
        headers={
            "Content-Type": CONTENT_TYPES[path.suffix],
            "Cache-Control": CACHE_CONTROL,
            "Content-Security-Policy": CSP,
        },
    )


async def index(request: web.Request) -> web.FileResponse:
    return _file(request.app[keys.WEB_ROOT] / "index.html")


async def asset(request: web.Request) -> web.FileResponse:
    """A file under ``web/``; anything else — other folders, hidden files, unknown types — is a 404."""
    root = request.app[keys.WEB_ROOT]
    relative = request.match_info["path"]
    parts = relative.split("/")
    if any(not part or part.startswith(".") for part in parts):
        raise web.HTTPNotFound()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target.suffix not in CONTENT_TYPES or not target.is_file():
        raise web.HTTPNotFound()
    return _file(target)
