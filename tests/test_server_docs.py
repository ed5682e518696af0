"""``/docs`` and ``/redoc`` work offline: every asset they load comes from the server itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from server_fixtures import RunningServer

_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


class _Refs(HTMLParser):
    """Collects the URLs an HTML page loads (``src``/``href``) and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline.append(data)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_another_host(server: RunningServer, page: str) -> None:
    r = httpx.get(f"{server.url}{page}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parsed = _Refs()
    parsed.feed(r.text)
    # no absolute URL anywhere in the page or its inline script: nothing from a CDN, no validator
    assert _URL.findall(r.text) == [], _URL.findall(r.text)
    if page == "/docs":
        assert '"validatorUrl": null' in "".join(parsed.inline)
    assets = [urljoin(f"{server.url}{page}", ref) for ref in parsed.refs]
    assert any(a.endswith(".js") for a in assets), assets
    for url in assets:
        assert urlsplit(url).netloc == urlsplit(server.url).netloc, url
        got = httpx.get(url)
        assert got.status_code == 200 and got.content, url
        if url.endswith(".css"):  # stylesheets pull in nothing but inline data: URIs
            targets = re.findall(r"url\(\s*['\"]?([^'\")]+)", got.text)
            assert all(t.startswith("data:") for t in targets), targets
    spec = httpx.get(f"{server.url}/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "Engram"
