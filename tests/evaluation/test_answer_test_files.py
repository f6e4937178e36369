"""evaluation.answer_test_files: loading YAML/JSONL test files, and the collection of their own articles."""

import json
import signal
import textwrap
from contextlib import contextmanager

import pytest

from qabot.evaluation.answer_test_files import AnswerCase, MalformedTests, article_collection, load_answer_tests
from qabot.evaluation.answer_tests import run_answer_tests
from qabot.retrieval.loading import sentence_reader
from tests.conftest import ROOT, SAMPLE_ARTICLES
from tests.page_server import PageServer

EXAMPLES = ROOT / "examples" / "answers.yaml"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def malformed(path) -> str:
    with pytest.raises(MalformedTests) as error:
        load_answer_tests(path)
    return str(error.value)


@contextmanager
def time_limit(seconds: int):
    """Fail the test when the block runs over ``seconds``, instead of hanging the run (SIGALRM)."""

    def expire(signum, frame):
        pytest.fail(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- loading ------------------------------------------------------------------------------------


def test_a_yaml_file_with_every_field(tmp_path):
    path = write(
        tmp_path,
        "answers.yaml",
        """
        # comments are fine
        cases:
          - question: When did Putin last visit Pyongyang?
            expect: July 2000
            source: Pyongyang
          - question: What did they sign?
            expect: [treaty, agreement]
            expect_regex: "partner(ship)?"
            source: 1
          - question: In what year did the old tramway close?
            expect: 1981
          - question: Who won Wimbledon in 2024?
            no_answer: true
          - question: Is there an answer?
            no_answer: false
        """,
    )
    tests = load_answer_tests(path)
    assert tests.articles == () and tests.path == path
    first, second, third, fourth, fifth = tests.cases
    assert first == AnswerCase(
        "When did Putin last visit Pyongyang?", "answers.yaml:3 (case 1)", ("July 2000",), None, "Pyongyang"
    )
    assert second.expect == ("treaty", "agreement") and second.expect_regex == "partner(ship)?"
    assert second.source == 1 and second.where == "answers.yaml:6 (case 2)"
    assert third.expect == ("1981",)  # a YAML number is taken as written
    assert fourth.no_answer is True and fifth.no_answer is False
    assert fourth.expected() == {"no_answer": True}
    assert first.expected() == {"expect": ["July 2000"], "source": "Pyongyang"}


def test_a_yaml_file_may_be_a_bare_list_of_cases(tmp_path):
    path = write(tmp_path, "t.yml", "- question: Who?\n  expect: Kim\n- {question: 'Where?', expect: Pyongyang}\n")
    assert [c.question for c in load_answer_tests(path).cases] == ["Who?", "Where?"]


def test_a_jsonl_file_with_its_articles_line(tmp_path):
    lines = [
        {"articles": ["a.md"]},
        {"question": "When?", "expect": "July 2000", "source": "Pyongyang"},
        {},
        {"question": "Who won Wimbledon?", "no_answer": True},
    ]
    (tmp_path / "a.md").write_text("Title\n\nBody text.", encoding="utf-8")
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join("" if not line else json.dumps(line) for line in lines), encoding="utf-8")
    path.write_text(path.read_text().replace("\n\n{}", "\n"), encoding="utf-8")
    tests = load_answer_tests(path)
    assert [a.value for a in tests.articles] == ["a.md"]
    assert [c.where for c in tests.cases] == ["t.jsonl:2 (case 1)", "t.jsonl:4 (case 2)"]
    assert tests.cases[1].no_answer is True


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("cases:\n  - question: When?\n    expect: [July\n", "t.yaml:4: not valid YAML"),
        ("cases:\n  - question: When?\n    expected: July 2000\n", "t.yaml:2 (case 1): unknown key 'expected'"),
        ("cases:\n  - question: A?\n    expect: x\n  - expect: July 2000\n", "t.yaml:4 (case 2): the question is missing"),
        ("cases:\n  - question: When?\n", "t.yaml:2 (case 1): nothing to check"),
        ("cases:\n  - question: When?\n    expect: yes\n", "t.yaml:2 (case 1): expect must be text"),
        ("cases:\n  - question: When?\n    expect: []\n", "t.yaml:2 (case 1): expect is an empty list"),
        ("cases:\n  - question: When?\n    expect_regex: '(unclosed'\n", "t.yaml:2 (case 1): expect_regex is not a valid"),
        ("cases:\n  - question: When?\n    no_answer: true\n    expect: x\n", "t.yaml:2 (case 1): no_answer: true cannot go"),
        ("cases:\n  - question: When?\n    no_answer: 'yes'\n", "t.yaml:2 (case 1): no_answer must be true or false"),
        ("cases:\n  - question: When?\n    source: [1, 2]\n", "t.yaml:2 (case 1): source must be"),
        ("cases:\n  - question: When?\n    expect: a\n    expect: b\n", "t.yaml:2 (case 1): the key 'expect' is given twice"),
        ("cases:\n  - just a question?\n", "t.yaml:2 (case 1): a case is a mapping"),
        ("cases: {question: 'When?'}\n", "t.yaml:1: the cases must be a list"),
        ("questions:\n  - question: When?\n", "t.yaml:1: unknown key 'questions'"),
        ("articles: [a.md]\n", "t.yaml: no cases: list"),
        ("", "t.yaml: no cases"),
        ("cases: []\n", "t.yaml: no cases"),
        ("articles:\n  - missing.md\ncases:\n  - {question: 'Q?', expect: x}\n", "t.yaml:2 (article 1): missing.md: no such file"),
        ("articles:\n  - {txt: hello}\ncases:\n  - {question: 'Q?', expect: x}\n", "t.yaml:2 (article 1): unknown key 'txt'"),
        ("articles:\n  - 42\ncases:\n  - {question: 'Q?', expect: x}\n", "t.yaml:2 (article 1): an article is a path"),
    ],
)
def test_a_malformed_yaml_file_names_the_line_at_fault(tmp_path, text, fault):
    assert fault in malformed(write(tmp_path, "t.yaml", text))


@pytest.mark.parametrize(
    ("lines", "fault"),
    [
        (['{"question": "A?", "expect": "x"}', '{"question": "B?", "expect": '], "t.jsonl:2: not valid JSON"),
        (['["question", "A?"]'], "t.jsonl:1 (case 1): a case is a mapping"),
        (['{"question": "A?", "expect": "x"}', "", '{"question": "B?", "expect": 7, "sorce": "x"}'], "t.jsonl:3 (case 2): unknown key 'sorce'"),
        (['{"articles": ["a.md"], "question": "Q?"}'], "t.jsonl:1 (case 1): unknown key 'articles'"),
        (['{"question": " ", "expect": "x"}'], "t.jsonl:1 (case 1): the question is missing"),
        (['{"articles": []}', '{"articles": []}'], "t.jsonl:2: give the articles once"),
    ],
)
def test_a_malformed_jsonl_file_names_the_line_at_fault(tmp_path, lines, fault):
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert fault in malformed(path)


def aliased(levels: int, item: str) -> str:
    """YAML of aliases of aliases: each level is 9 of the one before (``item`` says how it uses them)."""
    lines = ["x0: &a0 [lol]"]
    for i in range(1, levels + 1):
        lines.append(f"x{i}: &a{i} " + item.replace("ALIASES", ", ".join([f"*a{i - 1}"] * 9)))
    return "\n".join(lines) + "\ncases:\n  - {question: 'Q?', expect: x}\n"


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        (aliased(9, "[ALIASES]"), "t.yaml:1: not valid YAML (anchors and aliases (&name, *name) are not allowed)"),
        (aliased(6, "{<<: [ALIASES]}").replace("[lol]", "{k: v}"), "t.yaml:1: not valid YAML (anchors and aliases"),
        ("cases:\n  - {question: 'Q?', expect: &x July}\n", "t.yaml:2: not valid YAML (anchors and aliases"),
        ("cases: " + "[" * 5000 + "]" * 5000 + "\n", "t.yaml:1: not valid YAML (nested more than 50 levels deep)"),
        (
            "articles:\n  - {text: 'T\\nBody.', published: 2024-02-30}\ncases:\n  - {question: 'Q?', expect: x}\n",
            "t.yaml:2: not valid YAML (cannot read '2024-02-30': day is out of range for month)",
        ),
    ],
    ids=["billion-laughs", "merge-key-bomb", "anchor", "deep", "bad-date"],
)
def test_yaml_that_would_grow_or_nest_without_end_is_malformed(tmp_path, text, fault):
    with time_limit(30):
        assert fault in malformed(write(tmp_path, "t.yaml", text))


@pytest.mark.parametrize(
    ("line", "fault"),
    [
        ("[" * 100_000 + "]" * 100_000, "t.jsonl:1: not valid JSON (nested too deeply)"),
        ('{"question": "Q?", "expect": ' + "9" * 5000 + "}", "t.jsonl:1: not valid JSON (Exceeds the limit"),
    ],
    ids=["deep", "huge-number"],
)
def test_a_jsonl_line_too_deep_or_too_long_to_read_is_malformed(tmp_path, line, fault):
    path = tmp_path / "t.jsonl"
    path.write_text(line, encoding="utf-8")
    assert fault in malformed(path)


def test_a_character_yaml_refuses_is_malformed_in_one_line(tmp_path):
    fault = malformed(write(tmp_path, "t.yaml", "cases:\n  - {question: 'Q\x07?', expect: x}\n"))
    assert fault == "t.yaml: not valid YAML (unacceptable character #x0007: special characters are not allowed)"


def test_an_unreadable_file_is_malformed(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00bad")
    assert "not UTF-8" in malformed(tmp_path / "bin.yaml")
    assert "cannot read" in malformed(tmp_path / "nothing-here.yaml")


# --- the file's own articles ---------------------------------------------------------------------


def test_articles_of_every_kind_make_a_self_contained_collection(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "kettle.md").write_text(
        "---\ntitle: Lumora recalls kettles\n---\nLumora is recalling 184,000 Brio kettles.", encoding="utf-8"
    )
    (tmp_path / "tram.txt").write_text(
        "Aldermoor tram opens\nThe Riverside Line has 17 stops.", encoding="utf-8"
    )
    with PageServer() as server:
        path = write(
            tmp_path,
            "t.yaml",
            f"""
            articles:
              - notes
              - tram.txt
              - {server.url("/plain")}
              - |
                Tethys probe launches
                The Tethys probe will reach Veranna in April 2032.
              - title: Bank of Norland holds rate
                text: The Bank of Norland kept its rate at 4.25%.
                url: https://example.org/norland
                published: 2024-11-07
              - tram.txt
            cases:
              - question: How many kettles is Lumora recalling?
                expect: 184,000
                source: Lumora
            """,
        )
        tests = load_answer_tests(path)
        with article_collection(tests, allow_private=True) as store:
            articles = store.list_articles()
            assert [a.title for a in articles] == [
                "Lumora recalls kettles",
                "Aldermoor tram opens",
                "Wexcombe coin hoard goes on display",
                "Tethys probe launches",
                "Bank of Norland holds rate",
            ]  # the repeated tram.txt is stored once
            assert articles[4].url == "https://example.org/norland"
            assert articles[4].published == "2024-11-07"
            assert articles[2].url == server.url("/plain")
            report = run_answer_tests(tests, store=store, reader=sentence_reader(use_encoder=False))
    assert report.passed


def test_an_article_that_cannot_be_loaded_names_its_line(tmp_path):
    with PageServer() as server:
        path = write(
            tmp_path,
            "t.yaml",
            f"""
            articles:
              - {server.url("/missing")}
            cases:
              - {{question: 'Q?', expect: x}}
            """,
        )
        tests = load_answer_tests(path)
        with (
            pytest.raises(MalformedTests, match=r"t\.yaml:2 \(article 1\): .*404"),
            article_collection(tests, allow_private=True),
        ):
            pass


# --- the sample collection's own test file -------------------------------------------------------


def test_the_example_file_loads_the_sample_collection():
    tests = load_answer_tests(EXAMPLES)
    assert [a.value for a in tests.articles] == ["articles/"]
    assert (EXAMPLES.parent / "articles/").resolve() == SAMPLE_ARTICLES.resolve()
    assert any("Putin last visit Pyongyang" in c.question for c in tests.cases)
    assert any(c.no_answer for c in tests.cases)

