"""benchmarks/*.py: every script's --help explains each of its options."""

import argparse
import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(path.stem for path in BENCHMARKS.glob("*.py") if path.stem != "__init__")


class Parsed(Exception):
    """Raised in place of parsing the command line: the script's parser is in ``parser``."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_benchmark_option_has_help(name, monkeypatch):
    def capture(parser, args=None, namespace=None):
        raise Parsed(parser)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(Parsed) as parsed:
        importlib.import_module(f"benchmarks.{name}").main([])
    parser = parsed.value.parser
    assert parser.description, f"benchmarks.{name} has no description"
    options = [action for action in parser._actions if not isinstance(action, argparse._HelpAction)]
    assert options, f"benchmarks.{name} has no options"
    for action in options:
        assert action.help and action.help.strip(), f"benchmarks.{name} {action.option_strings[0]} has no help"
    assert "%(default)s" not in parser.format_help()  # every default placeholder was filled in
