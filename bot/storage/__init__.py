"""Storage backends other than the SQLite index of bot/corpus/store.py (issue #14).

Only `postgres` so far, and not wired into the bot yet: see README, "Running on many machines".
"""
