"""The Engram server: REST API, MCP and API keys (``pip install 'engramdb[server]'``)."""

from __future__ import annotations

from .app import create_app, is_loopback
from .keys import ApiKey, CreatedKey, KeyStore

__all__ = ["ApiKey", "CreatedKey", "KeyStore", "create_app", "is_loopback"]
