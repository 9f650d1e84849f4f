"""`corpus-bot sandbox --web` in a real browser: Debian's Chromium driven by Playwright, the
real bot (every cog) behind the page. Skipped, with the reason, where either is missing."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.sandbox.conftest import Sandbox, running_sandbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = os.environ.get("SANDBOX_SCREENSHOT")
"""Set to a path (docs/sandbox.png) to save the page as the README shows it."""

playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

expect = playwright_api.expect
expect.set_options(timeout=15_000)
Page = playwright_api.Page


@pytest.fixture
async def web(tmp_path: Path, corpus_dir: Path) -> AsyncIterator[tuple[Sandbox, Page]]:
    async with (
        running_sandbox(tmp_path, corpus_dir, web=True) as sandbox,
        playwright_api.async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(
                viewport={"width": 1100, "height": 820}, timezone_id="Asia/Tokyo"
            )
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(sandbox.url)
            await expect(page.get_by_role("navigation", name="Channels")).to_contain_text(
                "# general"
            )
            yield sandbox, page
            assert errors == [], errors
        finally:
            await browser.close()


async def type_command(page: Page, line: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    await box.fill(line)
    await box.press("Enter")
    await expect(box).to_have_value("")


def article(page: Page, text: str | re.Pattern[str]):  # type: ignore[no-untyped-def]
    return page.get_by_role("article").filter(has_text=text)


async def test_type_a_command_and_pick_the_bots_autocomplete_choice(
    web: tuple[Sandbox, Page],
) -> None:
    sandbox, page = web
    box = page.get_by_role("textbox", name="Message")
    await box.press_sequentially("/po")
    await page.get_by_role("option", name=re.compile(r"^\/post\b")).click()
    await expect(box).to_have_value("/post ")
    await page.get_by_role("option", name=re.compile(r"^post:")).click()
    await expect(box).to_have_value("/post post: ")
    await box.press_sequentially("meltdown")
    choice = page.get_by_role("option", name=re.compile("Race to Fix Meltdown and Spectre"))
    await choice.click()
    await expect(box).to_have_value("/post post: lessons-from-meltdown-and-spectre ")
    await box.press("Enter")
    reply = article(page, "you used /post")
    title = reply.get_by_role("link", name=re.compile("Race to Fix Meltdown and Spectre"))
    await expect(title).to_have_attribute("href", re.compile(r"^https://medium\.com/"))
    await expect(title).to_have_attribute("rel", re.compile("noopener"))
    assert any(i.type == 4 for i in sandbox.emu.interactions), "choices came from the bot"


async def test_page_through_an_answer_with_its_buttons(web: tuple[Sandbox, Page]) -> None:
    _sandbox, page = web
    if SCREENSHOT:
        await type_command(page, "/summarize post: meltdown length: 3")
        await expect(article(page, "you used /summarize")).to_contain_text("Jasmine Wang")
        await type_command(page, "/reasons topic: facial recognition")
        await expect(article(page, "you used /reasons")).to_contain_text("paragraph")
        await page.screenshot(path=SCREENSHOT)
    await type_command(page, "/search query: the")  # 11 hits: more than one message holds
    reply = article(page, "hits 1-")
    previous = reply.get_by_role("button", name="Previous")
    await expect(previous).to_be_disabled()
    await reply.get_by_role("button", name="Next").click()
    turned = article(page, "-11 of 11")
    await expect(turned.get_by_role("button", name="Next")).to_be_disabled()
    await expect(turned.get_by_role("button", name="Previous")).to_be_enabled()
    await expect(turned).to_contain_text("11 documents match")


async def test_a_plain_member_is_refused_and_only_they_see_it(web: tuple[Sandbox, Page]) -> None:
    _sandbox, page = web
    await page.get_by_role("combobox", name="Act as").select_option("member")
    await expect(page.get_by_role("navigation", name="Channels")).to_contain_text("a plain member")
    await type_command(page, "/subscribe channel: #announcements")
    refusal = article(page, "Manage Channels")
    await expect(refusal).to_contain_text("Only you can see this")
    await page.get_by_role("combobox", name="Act as").select_option("owner")
    await expect(page.get_by_role("navigation", name="Channels")).to_contain_text(
        "the server's owner"
    )
    await expect(article(page, "Manage Channels")).to_have_count(0)  # someone else's ephemeral


async def test_subscribe_a_channel_and_see_an_announcement_arrive(
    web: tuple[Sandbox, Page],
) -> None:
    sandbox, page = web
    nav = page.get_by_role("navigation", name="Channels")
    await nav.get_by_role("button", name="# announcements").click()
    await expect(page.get_by_role("heading", name="# announcements")).to_be_visible()
    await type_command(page, "/subscribe channel: #announcements")
    await expect(article(page, "gets every new entry")).to_be_visible()
    sandbox.add_document()
    await type_command(page, "/reload")
    await expect(article(page, "1 added")).to_be_visible()
    # The bot's own post (not a reply to anything) appears in the open channel, no reload.
    announcement = article(page, "Zebras and Stripes")
    await expect(announcement).to_be_visible()
    await expect(announcement.locator(".used")).to_have_count(0)
    await nav.get_by_role("button", name="# general").click()
    await expect(article(page, "Zebras and Stripes")).to_have_count(0)


async def test_an_unknown_command_is_an_error_under_the_box(web: tuple[Sandbox, Page]) -> None:
    _sandbox, page = web
    box = page.get_by_role("textbox", name="Message")
    await box.fill("/sumarize post: x")
    await box.press("Enter")
    await expect(page.get_by_role("alert")).to_have_text(
        "unknown command /sumarize (did you mean /summarize?); type help for the commands"
    )
    await expect(box).to_have_value("/sumarize post: x")


async def test_message_text_is_never_html_and_links_are_only_web_links(
    web: tuple[Sandbox, Page],
) -> None:
    sandbox, page = web
    sandbox.emu.post_user_message(
        sandbox.channel("general"),
        sandbox.session.world.member_id,
        "<img src=x onerror=alert(1)> **bold** [click](javascript:alert(1)) <t:1614297600:D>\n"
        "-# small print\n> quoted",
    )
    message = article(page, "small print")
    await expect(message).to_contain_text("<img src=x onerror=alert(1)>")
    await expect(message.locator("img")).to_have_count(0)
    await expect(message.locator("strong")).to_have_text("bold")
    await expect(message.locator("a")).to_have_count(0)
    await expect(message).to_contain_text("[click](javascript:alert(1))")
    stamp = message.locator(".content time")
    await expect(stamp).to_have_text("February 26, 2021")
    # In the reader's time zone (the page runs in Tokyo): 00:00 UTC is 9:00 there.
    await expect(stamp).to_have_attribute("title", re.compile(r"February 26, 2021.* 9:00"))
    await expect(message.locator("small")).to_have_text("small print")
    await expect(message.locator("blockquote")).to_have_text("quoted")
