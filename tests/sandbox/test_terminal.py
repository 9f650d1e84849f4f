"""The terminal sandbox end to end: the real bot (feed included) in the sandbox's server,
driven by `run_console` with scripted lines, as a person at the prompt would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from discord_emulator.console import complete_line, run_console
from tests.console_input import scripted
from tests.sandbox.conftest import Sandbox

Step = str | Callable[[], Awaitable[object]]


async def console(sandbox: Sandbox, lines: list[Step]) -> str:
    output: list[str] = []
    await run_console(sandbox.session, input_fn=scripted([*lines, "quit"]), output_fn=output.append)
    return "\n".join(output)


async def test_the_owner_subscribes_by_channel_name_and_watches_an_announcement_arrive(
    sandbox: Sandbox,
) -> None:
    async def add_a_file() -> None:
        sandbox.add_document()

    async def announced() -> None:
        await sandbox.announcements(1)

    text = await console(
        sandbox,
        ["/subscribe channel: #announcements", add_a_file, "/reload", announced, ""],
    )
    assert "Sandbox ready: you act as you, the server's owner" in text
    assert "#announcements gets every new entry" in text
    assert "1 added" in text
    # The bot's own post in another channel is printed with where it was posted.
    assert "#announcements · corpus-bot:" in text
    assert "Zebras and Stripes" in text.split("#announcements · corpus-bot:")[1]


async def test_a_plain_member_sees_the_refusal(sandbox: Sandbox) -> None:
    text = await console(
        sandbox, ["as member", "/subscribe channel: #announcements", "whoami", "as owner", "whoami"]
    )
    assert "you act as guest, a plain member" in text
    assert "You need the Manage Channels permission" in text
    assert text.rstrip().endswith(
        "you act as you, the server's owner (every permission), in #general"
    )


async def test_unknown_channel_and_role_names_list_what_exists(sandbox: Sandbox) -> None:
    text = await console(
        sandbox,
        ["/subscribe channel: #nowhere", "/subscribe channel: #general mention_role: @admins"],
    )
    assert (
        "error: /subscribe channel: no channel '#nowhere' in this server "
        "(there are: #general, #announcements)"
    ) in text
    assert (
        "error: /subscribe mention_role: no role '@admins' in this server (there are: @readers)"
        in text
    )


async def test_unknown_command_says_so_with_a_guess(sandbox: Sandbox) -> None:
    text = await console(sandbox, ["/sumarize post: meltdown", "/x"])
    assert (
        "error: unknown command /sumarize (did you mean /summarize?); type help for the commands"
        in text
    )
    assert "error: unknown command /x; type help for the commands" in text
    assert "tree.sync" not in text


async def test_a_question_mark_shows_the_bots_own_autocomplete_choices(sandbox: Sandbox) -> None:
    text = await console(sandbox, ["/post post: meltdown?", "/subscribe channel: #ann?"])
    assert "What Responsible AI Can Learn From the Race to Fix Meltdown and Spectre" in text
    assert "/post post: lessons-from-meltdown-and-spectre" in text
    assert "/subscribe channel: #announcements" in text
    assert any(i.type == 4 for i in sandbox.emu.interactions), "a real autocomplete interaction"


async def test_a_disabled_button_is_named_by_its_label_never_its_id(sandbox: Sandbox) -> None:
    text = await console(sandbox, ["/search query: the", "click Previous", "click Next"])  # 11 hits
    assert "[ ◀️ Previous ] (disabled) [ ▶️ Next ]" in text
    assert "error: the button Previous is disabled" in text
    assert "(edited) ┃ 11 documents match" in text and "-11 of 11" in text
    custom_ids = [
        c["custom_id"]
        for m in sandbox.emu.channel_messages(sandbox.channel("general"))
        for row in m.get("components") or []
        for c in row["components"]
    ]
    assert custom_ids and not any(custom_id in text for custom_id in custom_ids)


async def test_tab_completes_commands_options_and_names(sandbox: Sandbox) -> None:
    session = sandbox.session
    assert complete_line(session, "/summ", 0) == ["/summarize "]
    assert complete_line(session, "/subscribe ch", 11) == ["channel: "]
    assert complete_line(session, "/subscribe channel: #ann", 20) == ["#announcements "]
    assert complete_line(session, "/subscribe mode: da", 17) == ["daily digest "]
    assert complete_line(session, "as m", 0) == ["as member"]
    assert complete_line(session, "/feed st", 6) == ["status "]  # /feed sources starts with s too


async def test_a_question_mark_in_a_plain_value_is_part_of_the_command(sandbox: Sandbox) -> None:
    text = await console(sandbox, ["/search query: why?", "/summ?"])
    assert not any(i.type == 4 for i in sandbox.emu.interactions)
    searched = [i for i in sandbox.emu.interactions if i.name == "search"]
    assert searched and searched[0].payload["data"]["options"][0]["value"] == "why?"
    assert "  /summarize  — " in text  # "/summ?" is not a command yet: what fits is listed


async def test_a_message_menu_runs_on_a_message_shown_counted_back_from_the_latest(
    sandbox: Sandbox,
) -> None:
    """`say` writes a message; `menu <name> [n]` right-clicks the n-th latest one shown."""
    meltdown = (
        "https://medium.com/partnership-on-ai/"
        "lessons-for-the-ai-community-from-meltdown-and-spectre-b358cc81eeff"
    )
    text = await console(
        sandbox,
        [
            "help",
            f"say have you read {meltdown} ?",
            "say what did the community learn from Meltdown and Spectre?",
            "menu Find in corpus",
            "menu summarize linked post 3",  # the reply to the menu is the latest now
            "menu Summarize linked post 9",
            "menu Translate",
        ],
    )
    assert "Message menus (menu <name> [n]): Find in corpus, Summarize linked post" in text
    asked, summarized = text.split("┃ Asked: ")[1].split("┃ Summary: ")
    assert asked.startswith("what did the community learn from Meltdown and Spectre?")
    assert "1. What Responsible AI Can Learn From the Race to Fix Meltdown and Spectre" in asked
    assert "id lessons-from-meltdown-and-spectre" in summarized
    assert "error: no message 9 back in #general (4 shown; 1 is the latest)" in summarized
    assert (
        "error: no message menu 'Translate' (the bot's: Find in corpus, Summarize linked post)"
        in summarized
    )
    emu = sandbox.session.emu
    posted = [
        m for m in emu.channel_messages(sandbox.channel("general")) if not m["author"].get("bot")
    ]
    menus = [(i.name, i.payload["data"]["target_id"]) for i in emu.interactions]
    assert menus == [
        ("Find in corpus", posted[1]["id"]),  # 1 back: the latest when it ran
        ("Summarize linked post", posted[0]["id"]),  # 3 back, past the first menu's answer
    ]
    assert emu.problems == []
