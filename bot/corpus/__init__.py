"""The core: corpus files, their SQLite index and the answers. Never imports discord."""
