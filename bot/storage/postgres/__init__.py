"""State shared by many processes in one PostgreSQL database, through asyncpg (issue #14).

What exists: the corpus documents, their authors and full-text search (`documents.py`), with
forward migrations (`schema.py`), and the lease that lets exactly one process run a loop
(`lease.py`). Nothing here is wired into the bot yet; the SQLite index stays the only backend
it runs on. Every value reaches SQL as a bound parameter.
"""
