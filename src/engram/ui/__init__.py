"""The memory browser: server-rendered pages at ``/ui`` on ``engram serve`` and ``engram ui``.

Users and sessions, a user's timeline, a memory's page (sources, versions, trust), Ask
(search with the score breakdown and the context block), Act (edit, delete, forget,
export) and Health. Pages are HTML rendered on the server (Jinja2, autoescaped) with one
small script; CSS and JavaScript ship in the package (no CDN, no build step). See
:mod:`engram.ui.session` for login, cookies and CSRF. Needs the ``server`` extra.
"""

from __future__ import annotations

from . import actions as _actions  # noqa: F401  (registers the POST routes)
from .pages import router

__all__ = ["router"]
