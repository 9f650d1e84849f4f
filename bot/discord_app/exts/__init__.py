"""One cog per feature; each is a discord.py extension loaded in `setup_hook`."""

EXTENSIONS: tuple[str, ...] = (
    "bot.discord_app.exts.posts",
    "bot.discord_app.exts.authors",
    "bot.discord_app.exts.reasons",
    "bot.discord_app.exts.search",
    "bot.discord_app.exts.ask",
    "bot.discord_app.exts.menus",
    "bot.discord_app.exts.about",
    "bot.discord_app.exts.admin",
    "bot.discord_app.exts.feed",
)
