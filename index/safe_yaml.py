"""The one YAML loader for input people write: articles' front matter and answer-test files.

``SafeYamlLoader`` is PyYAML's safe loader, with three limits so that a document is never larger
to read than its text:

* anchors and aliases (``&name``, ``*name``) are refused: a "billion laughs" (aliases of aliases,
  or merge keys of them) needs them to grow a few hundred bytes into gigabytes;
* nesting is capped at ``MAX_DEPTH`` levels (PyYAML composes recursively; deeper would be a
  ``RecursionError``);
* a value that cannot be read (the date ``2024-02-30``, an integer of 5,000 digits) is a
  ``yaml.YAMLError`` at its line, like any other mistake, instead of a bare ``ValueError``.

Use it as ``yaml.load(text, Loader=SafeYamlLoader)``, or node by node like ``yaml.SafeLoader``;
``problem`` says what a ``yaml.YAMLError`` found wrong, in one line.
"""

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

#: Collections nested deeper than this are refused.
MAX_DEPTH = 50


class SafeYamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without anchors and aliases, at most ``MAX_DEPTH`` levels deep."""

    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if event.anchor is not None:  # an alias (*name) or an anchored node (&name)
            raise ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed", event.start_mark
            )
        if self._depth >= MAX_DEPTH:
            raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as error:  # raised by the scalar's own constructor: its node is this one
            raise ConstructorError(
                None, None, f"cannot read {str(node.value)[:40]!r}: {error}", node.start_mark
            ) from None


def problem(error: yaml.YAMLError) -> str:
    """What is wrong, in one line: the error's problem, or (a character YAML refuses) its first line."""
    return getattr(error, "problem", None) or str(error).partition("\n")[0]
