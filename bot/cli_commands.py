"""Imports the modules whose subcommands `python -m bot` offers (each registers with @command)."""
