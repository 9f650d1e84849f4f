"""The feed in Discord, a feature package over one core facade (`bot.feeds.service.FeedService`).

- `cog.py`: the commands (`/subscribe`, `/unsubscribe`, `/subscriptions`, `/feed ...`): parse
  options, call one facade method, render.
- `loops.py`: the poll, send and digest loops, and pause reports to each server's admins.
- `deliverer.py`: `DiscordDeliverer`, how the core's sender posts, edits and finds messages.
- `checks.py`: who may use the feed's commands, what the bot needs in a channel to announce.

Loaded as the extension `bot.discord_app.exts.feed` (unloading it also drops its submodules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord_app.exts.feed.cog import Feed
from bot.discord_app.exts.feed.deliverer import DiscordDeliverer

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Feed(bot))


__all__ = ["DiscordDeliverer", "Feed", "setup"]
