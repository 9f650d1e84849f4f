"""The sandbox page's HTTP side, without a browser: what it serves, and what it refuses to a
web page elsewhere (cross-site form posts, DNS rebinding), next to the gateway on `/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.sandbox.conftest import Sandbox, running_sandbox


@pytest.fixture
async def web_sandbox(tmp_path: Path, corpus_dir: Path) -> AsyncIterator[Sandbox]:
    async with running_sandbox(tmp_path, corpus_dir, web=True) as sandbox:
        yield sandbox


async def test_the_page_and_its_files_are_served_with_a_strict_policy(web_sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(web_sandbox.url) as page:
            assert page.status == 200 and page.content_type == "text/html"
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
            html = await page.text()
        assert 'aria-label="Message"' in html and "http" not in html.replace("http-equiv", "")
        for name in ("sandbox.js", "sandbox.css"):
            async with http.get(f"{web_sandbox.url}sandbox/static/{name}") as asset:
                assert asset.status == 200
        async with http.get(f"{web_sandbox.url}sandbox/static/..%2Fweb.py") as escape:
            assert escape.status == 404
        async with http.get(f"{web_sandbox.url}sandbox/api/state") as state:
            body = await state.json()
        assert [c["name"] for c in body["channels"]] == ["general", "announcements"]
        assert body["acting"] == "owner"
    # The bot's gateway connection on `/` was not disturbed by the page there.
    assert web_sandbox.bot.is_ready()


async def test_requests_a_foreign_page_could_make_are_refused(web_sandbox: Sandbox) -> None:
    api = f"{web_sandbox.url}sandbox/api"
    async with aiohttp.ClientSession() as http:
        async with http.get(web_sandbox.url, headers={"Host": "attacker.example"}) as rebound:
            assert rebound.status == 403
        async with http.post(f"{api}/send", data={"line": "/reload"}) as form:
            assert form.status == 415
        async with http.post(f"{api}/send", json={"line": ["/reload"]}) as wrong_type:
            assert wrong_type.status == 400
        async with http.post(f"{api}/send", json={"line": "/about", "channel": "1"}) as channel:
            assert channel.status == 404
        async with http.post(f"{api}/act", json={"as": "admin"}) as act:
            assert act.status == 400
            assert (await act.json())["error"] == "act as owner or member, not 'admin'"
    assert not [i for i in web_sandbox.emu.interactions if i.type == 2], "no command was sent"


async def test_send_answers_an_error_for_bad_input_and_ok_for_a_command(
    web_sandbox: Sandbox,
) -> None:
    api = f"{web_sandbox.url}sandbox/api"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api}/send", json={"line": "/subscribe channel: #nowhere"}) as bad:
            assert bad.status == 400
            assert "no channel '#nowhere' in this server" in (await bad.json())["error"]
        async with http.post(f"{api}/send", json={"line": "/about"}) as good:
            assert good.status == 200
        async with http.post(f"{api}/suggest", json={"line": "/sub"}) as suggest:
            labels = [s["label"] for s in (await suggest.json())["suggestions"]]
            assert labels == ["/subscribe", "/subscriptions"]
