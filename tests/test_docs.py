"""The documentation: README.md, docs/*.md, CONTRIBUTING.md and .env.example against the code.

Every ``qabot`` command (the click group ``bot.cli.cli``, subcommands included) is documented as
``qabot NAME`` in README.md or docs/commands.md; every setting (``.env.example``'s QABOT_*/TELEGRAM_*
variables and ``bot.config.Settings``' aliases) is in README.md's configuration table and in
.env.example; every relative link resolves to a file, and its ``#anchor`` to a heading of that file
(GitHub's slugs), and the README links to every page of docs/; README.md stays under 250 lines.
"""

import re
from pathlib import Path

import click

from qabot.bot.cli import cli
from qabot.bot.config import Settings
from tests.conftest import ROOT

README = ROOT / "README.md"
COMMANDS_PAGE = ROOT / "docs" / "commands.md"
ENV_EXAMPLE = ROOT / ".env.example"
MAX_README_LINES = 250

_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def command_names(group: click.Group = cli, prefix: str = "") -> list[str]:
    """Every command of ``group`` as typed after ``qabot`` (``reindex``; ``group sub`` for a subcommand)."""
    names = []
    for name, command in sorted(group.commands.items()):
        names.append(prefix + name)
        if isinstance(command, click.Group):
            names += command_names(command, f"{prefix}{name} ")
    return names


def setting_names() -> set[str]:
    """Every setting: .env.example's QABOT_*/TELEGRAM_* variables and the aliases of ``Settings``' fields."""
    example = set(re.findall(r"^#?\s*((?:QABOT|TELEGRAM)_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    aliases = {field.alias for field in Settings.model_fields.values() if field.alias}
    return example | aliases


def prose_lines(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    """The anchors of a Markdown file's headings (a repeated heading's get ``-1``, ``-2``, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(markdown.read_text(encoding="utf-8")):
        heading = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading.group(1))
            found.add(f"{base}-{seen[base]}" if base in seen else base)
            seen[base] = seen.get(base, 0) + 1
    return found


def broken_links(markdown: Path, base: Path | None = None) -> list[str]:
    """The relative links of a Markdown file that lead nowhere: no such file, or no such heading.

    :param markdown: the file whose links are checked.
    :param base: the folder its links are relative to (default: its own; a README written elsewhere
        to replace README.md is checked from the root).
    """
    base = base or markdown.parent
    broken = []
    for line in prose_lines(markdown.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)  # code spans hold no links
        for target in _LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (base / path).resolve() if path else markdown
            if not file.exists():
                broken.append(f"{markdown.name}: {target} (no such file)")
            elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
                broken.append(f"{markdown.name}: {target} (no such heading)")
    return broken


def configuration_table(readme: Path) -> set[str]:
    """The variables in the first column of the table under the README's "Configuration" heading."""
    names, inside = set(), False
    for line in prose_lines(readme.read_text(encoding="utf-8")):
        if re.match(r"^#{1,6}\s", line):
            inside = "configuration" in line.lower()
        elif inside:
            row = re.match(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*(\S[^|]*)\|", line)
            if row:
                names.add(row.group(1))
    return names


def undocumented_commands(readme: Path) -> list[str]:
    """The ``qabot`` commands named as ``qabot NAME`` neither in ``readme`` nor in docs/commands.md."""
    text = readme.read_text(encoding="utf-8") + COMMANDS_PAGE.read_text(encoding="utf-8")
    return [name for name in command_names() if not re.search(rf"(?<![\w-])qabot {re.escape(name)}(?![\w-])", text)]


def missing_settings(readme: Path) -> list[str]:
    """The settings missing from ``readme``'s configuration table or from .env.example."""
    table = configuration_table(readme)
    example = set(re.findall(r"^((?:QABOT|TELEGRAM)_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    return sorted(
        [f"{name} (not in {readme.name}'s configuration table)" for name in setting_names() - table]
        + [f"{name} (not in .env.example)" for name in setting_names() - example]
    )


def unlinked_pages(readme: Path) -> list[str]:
    """The docs/*.md pages ``readme`` does not link to."""
    text = readme.read_text(encoding="utf-8")
    return [page.name for page in docs_pages() if f"](docs/{page.name}" not in text]


def docs_pages() -> list[Path]:
    """docs/*.md."""
    return sorted((ROOT / "docs").glob("*.md"))


def test_every_command_is_documented():
    assert command_names(), "the qabot group has no commands"
    assert undocumented_commands(README) == []


def test_every_setting_is_in_the_configuration_table_and_env_example():
    assert missing_settings(README) == []


def test_the_docs_links_resolve():
    pages = docs_pages() + [ROOT / "CONTRIBUTING.md"]
    assert [problem for page in pages for problem in broken_links(page)] == []


def test_the_readme_links_resolve_and_reach_every_docs_page():
    assert broken_links(README, base=ROOT) + unlinked_pages(README) == []


def test_the_readme_is_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) < MAX_README_LINES


def test_slugs_are_githubs():
    assert slug("Scale-out on Xapian shards") == "scale-out-on-xapian-shards"
    assert slug("Files under ../shared/") == "files-under-shared"
    assert slug("Follow-ups: examples/conversations.yaml") == "follow-ups-examplesconversationsyaml"
    assert slug("The `qabot` command, [linked](x.md)") == "the-qabot-command-linked"
