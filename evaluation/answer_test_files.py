"""Answer-test files: reading a file of cases (YAML or JSONL), and the temporary collection of its articles.

Part of ``evaluation``, under ``qabot eval FILE``: the file is read and checked here, then
``evaluation.answer_tests`` asks its cases and scores them. A test file is YAML, or JSONL with one
case per line. Each case has a ``question`` and at least one check:

* ``expect``: text the answer must contain, ignoring case and spacing; or a list of alternatives;
* ``expect_regex``: a regular expression the answer must match (searched, ignoring case, with the
  ``regex`` package; a search that takes over ``answer_tests.REGEX_TIMEOUT_S`` fails the case);
* ``source``: the article the answer must cite: a title substring (ignoring case) or an article id;
* ``no_answer: true``: the bot must say the articles do not answer it (``false``: it must answer).

A case may also give ``after``: the questions asked before it in one conversation, so that its own
question can be a follow-up ("How old is she?"); ``evaluation.conversation_tests`` asks them.

In YAML the cases are a list, at the top or under ``cases:``; beside them, ``articles:`` lists what
the file's own temporary collection holds (paths relative to the file, folders, JSONL files, http(s)
URLs, texts of several lines, or mappings with ``text`` and optional ``title``, ``url``,
``published``), so that the file is self-contained. In JSONL a line ``{"articles": [...]}`` does the
same. YAML is read with ``index.safe_yaml`` (no anchors or aliases). A file that cannot be used as
written raises ``MalformedTests`` naming the line at fault.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import regex
import yaml

from qabot.evaluation.conversation_tests import parse_after
from qabot.index.drafts import Draft, from_text, store_draft
from qabot.index.importing import import_path, json_line
from qabot.index.ingest import read_source
from qabot.index.safe_yaml import SafeYamlLoader, problem
from qabot.index.store import ArticleRefused, DuplicateArticle, Store
from qabot.retrieval.embeddings import embed_missing

#: The keys a case may have.
CASE_KEYS = ("question", "expect", "expect_regex", "source", "no_answer", "after")
#: The keys an inline article may have.
ARTICLE_KEYS = ("text", "title", "url", "published", "site")
JSONL_SUFFIXES = {".jsonl", ".ndjson"}


class MalformedTests(ValueError):
    """The answer-test file cannot be used as written; the message names the line or case at fault."""


@dataclass(frozen=True)
class AnswerCase:
    """One question and what its answer must satisfy.

    :param where: where the case is written, e.g. ``answers.yaml:12 (case 3)``.
    :param expect: the answer must contain one of these (empty: not checked).
    :param expect_regex: the answer must match this pattern (None: not checked).
    :param source: the answer must cite this article: a title substring, or an id (int).
    :param no_answer: True: the bot must not answer; False: it must; None: not checked.
    :param after: the questions asked before it in the same conversation (empty: asked on its own).
    """

    question: str
    where: str
    expect: tuple[str, ...] = ()
    expect_regex: str | None = None
    source: str | int | None = None
    no_answer: bool | None = None
    after: tuple[str, ...] = ()

    def expected(self) -> dict:
        """The checks of the case, as written (only those given)."""
        found = {
            "expect": list(self.expect) or None,
            "expect_regex": self.expect_regex,
            "source": self.source,
            "no_answer": self.no_answer,
        }
        return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True)
class ArticleEntry:
    """One item of a file's ``articles:``: a path, a URL, a text or a ``Draft``-like mapping."""

    value: str | dict
    where: str


@dataclass(frozen=True)
class AnswerTests:
    """An answer-test file: its cases and, if it names any, the articles of its own collection."""

    path: Path
    cases: tuple[AnswerCase, ...]
    articles: tuple[ArticleEntry, ...] = ()


def load_answer_tests(path: str | Path) -> AnswerTests:
    """Read and check an answer-test file (YAML, or JSONL for ``.jsonl`` / ``.ndjson``).

    :param path: the file.
    :raises MalformedTests: the file is not valid YAML/JSONL, or a case or article is wrong; the
        message names the line (and case) at fault.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise MalformedTests(f"{path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError:
        raise MalformedTests(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() in JSONL_SUFFIXES:
        cases, articles = _jsonl(text, path.name)
    else:
        cases, articles = _yaml(text, path.name)
    if not cases:
        raise MalformedTests(f"{path.name}: no cases (each needs a question and something to check)")
    for entry in articles:
        _check_article(entry, path.parent)
    return AnswerTests(path, tuple(cases), tuple(articles))


def _yaml(text: str, name: str) -> tuple[list[AnswerCase], list[ArticleEntry]]:
    try:
        loader = SafeYamlLoader(text)  # a character YAML refuses (a control character) fails here
        try:
            return _yaml_document(loader, name)
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise MalformedTests(f"{name}{line}: not valid YAML ({problem(error)})") from None


def _yaml_document(loader: SafeYamlLoader, name: str) -> tuple[list[AnswerCase], list[ArticleEntry]]:
    """The cases and articles of the document, read node by node to know each one's line."""
    root = loader.get_single_node()
    if root is None:
        return [], []
    top = _construct(loader, root)  # any error in the document, before reading its parts
    case_nodes, article_nodes = root, None
    if isinstance(top, dict):
        keys = _keys(loader, root, f"{name}:{root.start_mark.line + 1}")
        for key, (key_node, _) in keys.items():
            if key not in ("cases", "articles"):
                raise MalformedTests(
                    f"{name}:{key_node.start_mark.line + 1}: unknown key {key!r}"
                    " (a test file has cases: and optionally articles:)"
                )
        if "cases" not in keys:
            raise MalformedTests(f"{name}: no cases: list")
        case_nodes, article_nodes = keys["cases"][1], keys.get("articles", (None, None))[1]
    if not isinstance(case_nodes, yaml.SequenceNode):
        raise MalformedTests(
            f"{name}:{case_nodes.start_mark.line + 1}: the cases must be a list of mappings"
        )
    cases = []
    for number, node in enumerate(case_nodes.value, 1):
        where = f"{name}:{node.start_mark.line + 1} (case {number})"
        if not isinstance(node, yaml.MappingNode):
            raise MalformedTests(f"{where}: a case is a mapping with a question (question: ...)")
        _keys(loader, node, where)  # duplicate keys
        cases.append(_case(_construct(loader, node), where))
    articles = []
    if article_nodes is not None:
        if isinstance(article_nodes, yaml.ScalarNode):
            article_nodes = yaml.SequenceNode("tag:yaml.org,2002:seq", [article_nodes])
        if not isinstance(article_nodes, yaml.SequenceNode):
            raise MalformedTests(f"{name}:{article_nodes.start_mark.line + 1}: articles: must be a list")
        for number, node in enumerate(article_nodes.value, 1):
            where = f"{name}:{node.start_mark.line + 1} (article {number})"
            articles.append(ArticleEntry(_construct(loader, node), where))
    return cases, articles


def _construct(loader: SafeYamlLoader, node: yaml.Node):
    value = loader.construct_object(node, deep=True)
    loader.constructed_objects.clear()
    return value


def _keys(loader: SafeYamlLoader, node: yaml.MappingNode, where: str) -> dict:
    """The mapping's (key node, value node) by key; a key given twice is an error (YAML keeps the last)."""
    found = {}
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        if key in found:
            raise MalformedTests(f"{where}: the key {key!r} is given twice")
        found[key] = (key_node, value_node)
    return found


def _jsonl(text: str, name: str) -> tuple[list[AnswerCase], list[ArticleEntry]]:
    cases, articles, seen_articles = [], [], False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json_line(line)
        except ValueError as error:
            raise MalformedTests(f"{where}: {error}") from None
        if isinstance(record, dict) and "articles" in record and "question" not in record:
            if set(record) != {"articles"} or seen_articles:
                raise MalformedTests(f'{where}: give the articles once, alone: {{"articles": [...]}}')
            seen_articles = True
            listed = record["articles"] if isinstance(record["articles"], list) else [record["articles"]]
            articles = [
                ArticleEntry(value, f"{where} (article {i})") for i, value in enumerate(listed, 1)
            ]
            continue
        cases.append(_case(record, f"{where} (case {len(cases) + 1})"))
    return cases, articles


def _case(record, where: str) -> AnswerCase:
    if not isinstance(record, dict):
        raise MalformedTests(f"{where}: a case is a mapping with a question")
    unknown = [key for key in record if key not in CASE_KEYS]
    if unknown:
        raise MalformedTests(f"{where}: unknown key {unknown[0]!r} (a case has {', '.join(CASE_KEYS)})")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise MalformedTests(f"{where}: the question is missing or not text")
    expect = _expect(record.get("expect"), where)
    pattern = record.get("expect_regex")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise MalformedTests(f"{where}: expect_regex must be a regular expression (text)")
        try:
            regex.compile(pattern)
        except regex.error as error:
            raise MalformedTests(f"{where}: expect_regex is not a valid regular expression ({error})") from None
    source = record.get("source")
    if source is not None and (
        isinstance(source, bool) or not isinstance(source, (str, int)) or source == ""
    ):
        raise MalformedTests(f"{where}: source must be a title (text) or an article id (number)")
    no_answer = record.get("no_answer")
    if no_answer is not None and not isinstance(no_answer, bool):
        raise MalformedTests(f"{where}: no_answer must be true or false")
    if no_answer and (expect or pattern is not None or source is not None):
        raise MalformedTests(f"{where}: no_answer: true cannot go with expect, expect_regex or source")
    if not expect and pattern is None and source is None and no_answer is None:
        raise MalformedTests(f"{where}: nothing to check: give expect, expect_regex, source or no_answer")
    after = parse_after(record.get("after"), where, MalformedTests)
    return AnswerCase(question.strip(), where, expect, pattern, source, no_answer, after)


def _expect(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    alternatives = value if isinstance(value, list) else [value]
    found = []
    for item in alternatives:
        # a YAML number (expect: 1981) is taken as written; true/false/null are mistakes
        if isinstance(item, bool) or not isinstance(item, (str, int, float)) or not str(item).strip():
            raise MalformedTests(
                f"{where}: expect must be text or a list of texts (quote values like yes, no, null)"
            )
        found.append(str(item))
    if not found:
        raise MalformedTests(f"{where}: expect is an empty list")
    return tuple(found)


def _check_article(entry: ArticleEntry, base: Path) -> None:
    value = entry.value
    if isinstance(value, dict):
        unknown = [key for key in value if key not in ARTICLE_KEYS]
        if unknown:
            raise MalformedTests(
                f"{entry.where}: unknown key {unknown[0]!r} (an article has {', '.join(ARTICLE_KEYS)})"
            )
        bad = [
            key
            for key in ARTICLE_KEYS
            if key in value and not isinstance(value[key], str)
            and not (key == "published" and isinstance(value[key], date))  # YAML reads dates
        ]
        if bad or not str(value.get("text") or "").strip():
            raise MalformedTests(f"{entry.where}: an article mapping needs a text, and its fields are text")
        return
    if not isinstance(value, str) or not value.strip():
        raise MalformedTests(f"{entry.where}: an article is a path, a URL, a text or a mapping with text")
    if "\n" in value.strip() or _is_url(value):
        return
    if not (base / value).exists():
        raise MalformedTests(f"{entry.where}: {value}: no such file or folder (paths are relative to the test file)")


def _is_url(value: str) -> bool:
    return value.strip().lower().startswith(("http://", "https://"))


@contextmanager
def article_collection(
    tests: AnswerTests, *, encoder=None, allow_private: bool = False
) -> Iterator[Store]:
    """A temporary collection (in memory) holding the test file's ``articles:``, for the ``with`` block.

    :param tests: the loaded test file; its ``articles`` must not be empty.
    :param encoder: the sentence encoder, to compute chunk embeddings for hybrid search; or None.
    :param allow_private: accept URLs on private and loopback addresses.
    :raises MalformedTests: an article cannot be read or stored (the message names its line).
    """
    base = tests.path.parent
    with Store(":memory:") as store:
        for entry in tests.articles:
            try:
                _add(store, entry, base, allow_private)
            except ArticleRefused as error:
                raise MalformedTests(f"{entry.where}: {error}") from None
        if encoder is not None:
            embed_missing(store, encoder)
        yield store


def _add(store: Store, entry: ArticleEntry, base: Path, allow_private: bool) -> None:
    value = entry.value
    if isinstance(value, dict):
        draft = from_text(value["text"], title=value.get("title"))
        draft = Draft(
            draft.title,
            draft.text,
            url=value.get("url") or draft.url,
            site=value.get("site") or draft.site,
            published=str(value["published"]) if value.get("published") else draft.published,
        )
    elif "\n" in value.strip():
        draft = from_text(value)
    elif _is_url(value):
        draft = read_source(value.strip(), allow_private=allow_private)
    else:
        path = base / value
        if path.is_dir() or path.suffix.lower() in JSONL_SUFFIXES:
            report = import_path(store, path, added_by="eval", progress=False)
            if report.failed:
                where, reason = report.failed[0]
                raise MalformedTests(f"{entry.where}: {where}: {reason}")
            return
        draft = read_source(str(path))
    try:
        store_draft(store, draft, added_by="eval")
    except DuplicateArticle:
        pass  # listed twice: once is enough
