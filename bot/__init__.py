"""corpus-bot: a Discord bot that turns a corpus of documents into answers people can trust."""

__version__ = "0.1.0"
