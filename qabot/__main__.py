"""``python -m qabot``: the ``qabot`` command."""

from qabot.bot.cli import cli

cli()
