"""The Discord front end: a thin layer that parses options, calls the core, renders embeds."""
