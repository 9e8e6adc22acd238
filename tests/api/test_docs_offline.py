"""An air-gapped court's clerk opens /docs and /redoc: every script, style sheet and icon the pages name
is served by the service itself, none by a CDN."""

from __future__ import annotations

import re

import pytest

ASSET = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_nothing_from_outside(http, page):
    r = http.get(page)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    urls = ASSET.findall(r.text)
    assert any(u.endswith(".js") for u in urls), urls  # the page does name its script
    outside = [u for u in urls if not u.startswith("/")]
    assert outside == [], f"{page} loads from outside the service: {outside}"
    for url in urls:
        got = http.get(url)
        assert got.status_code == 200 and len(got.content) > 0, url


def test_home_leads_to_the_verify_page(http):
    r = http.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/verify/"
