"""The HTTP layer seen from a plain HTTP client: headers, auth, bodies, multipart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from discord_emulator import DiscordEmulator
from tests.discord_emulator.conftest import World


@pytest.fixture
async def http(emu: DiscordEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {emu.bot_token}"}) as session:
        yield session


async def test_json_responses_have_the_bare_content_type(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{emu.api_base}/gateway/bot") as response:
        assert response.headers["Content-Type"] == "application/json"
        body = await response.json()
    assert body["url"] == emu.gateway_url and body["shards"] == 1
    assert set(body["session_start_limit"]) == {
        "total",
        "remaining",
        "reset_after",
        "max_concurrency",
    }


async def test_bot_routes_need_the_token_but_interaction_routes_do_not(
    emu: DiscordEmulator,
) -> None:
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{emu.api_base}/users/@me") as response:
            assert response.status == 401
            assert await response.json() == {"message": "401: Unauthorized", "code": 0}
        async with anonymous.post(
            f"{emu.api_base}/interactions/1/nope/callback", json={"type": 4}
        ) as response:
            assert response.status == 404
            assert (await response.json())["code"] == 10062
    assert emu.protocol_errors == [
        "POST /interactions/1/nope/callback: Unknown interaction (no interaction with this id and token)"
    ]


async def test_invalid_json_is_refused(
    emu: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    url = f"{emu.api_base}/channels/{world.channel.id}/messages"
    async with http.post(
        url, data=b"{nope", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["code"] == 50109
    async with http.post(url, json={}) as response:
        assert response.status == 400
        assert await response.json() == {"message": "Cannot send an empty message", "code": 50006}


async def test_multipart_messages_carry_payload_json_and_files(
    emu: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData(quote_fields=False)
    payload = {"content": "see attached", "attachments": [{"id": 0, "filename": "notes.txt"}]}
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    form.add_field("files[0]", b"hello world", filename="notes.txt", content_type="text/plain")
    async with http.post(
        f"{emu.api_base}/channels/{world.channel.id}/messages", data=form
    ) as response:
        assert response.status == 200
        message = await response.json()
    assert message["content"] == "see attached"
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "notes.txt" and attachment["size"] == 11
    assert emu.requests[-1].body == payload


async def test_limits_hold_without_schema_validation() -> None:
    emu = DiscordEmulator(validate_schema=False)
    await emu.start()
    try:
        guild = emu.add_guild("g")
        channel = emu.add_channel(guild.id, "c")
        headers = {"Authorization": f"Bot {emu.bot_token}"}
        url = f"{emu.api_base}/channels/{channel.id}/messages"
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.post(url, json={"content": "x" * 2001}) as response:
                assert response.status == 400
            async with http.post(url, json={"embeds": [{"title": "t" * 257}]}) as response:
                errors = (await response.json())["errors"]
                assert (
                    errors["embeds"]["0"]["title"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
                )
            long_link = {"embeds": [{"title": "t", "url": "https://example.org/" + "a" * 2100}]}
            async with http.post(url, json=long_link) as response:
                assert response.status == 400
                errors = (await response.json())["errors"]
                assert errors["embeds"]["0"]["url"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        assert len(emu.validation_errors) == 3
    finally:
        await emu.stop()


async def test_requests_are_logged_without_prefix_or_query(
    emu: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{emu.api_base}/channels/{world.channel.id}/messages?limit=5") as response:
        assert response.status == 200 and await response.json() == []
    assert emu.requests[-1] == ("GET", f"/channels/{world.channel.id}/messages", None, 200)
