"""Answer tests in conversation (``after:``): loading, asking in turn, and the conversational set's
measured pass rate (examples/conversations.yaml)."""

import json

import pytest

from qabot.evaluation.answer_test_files import article_collection, load_answer_tests
from qabot.evaluation.answer_tests import run_answer_tests
from qabot.retrieval.loading import load_reader
from tests.conftest import ROOT
from tests.evaluation.test_answer_test_files import malformed, write

CONVERSATIONS = ROOT / "examples" / "conversations.yaml"


def sample_file(tmp_path, cases: str):
    return write(tmp_path, "t.yaml", f"articles:\n  - {ROOT / 'examples' / 'articles'}\ncases:\n{cases}")


@pytest.fixture(scope="module")
def builtin():
    return load_reader("builtin", use_encoder=False)


def test_after_takes_a_question_or_a_list_of_them(tmp_path):
    tests = load_answer_tests(
        sample_file(
            tmp_path,
            "  - {after: 'Who drove the first tram?', question: 'How old is she?', expect: '31'}\n"
            "  - {after: ['Who found the hoard?', 'When?'], question: 'How old is she?', no_answer: true}\n"
            "  - {question: 'Who drove the first tram?', expect: Priya}\n",
        )
    )
    assert [case.after for case in tests.cases] == [
        ("Who drove the first tram?",), ("Who found the hoard?", "When?"), (),
    ]


@pytest.mark.parametrize("after", ["[]", "['']", "[3]", "{a: b}", "true"])
def test_a_bad_after_names_its_case(tmp_path, after):
    path = sample_file(tmp_path, f"  - {{after: {after}, question: 'How old is she?', expect: '31'}}\n")
    assert malformed(path) == "t.yaml:4 (case 1): after must be a question or a list of questions (text)"


def test_a_case_is_asked_after_its_conversation_and_alone_without_one(tmp_path, builtin):
    tests = load_answer_tests(
        sample_file(
            tmp_path,
            "  - {after: ['Who drove the first tram on the Riverside Line?'], question: 'How old is she?', expect: '31'}\n"
            "  - {question: 'How old is she?', expect: '31'}\n"
            "  - {after: ['How old is she?'], question: 'Where did she leave from?', no_answer: true}\n",
        )
    )
    with article_collection(tests) as store:
        report = run_answer_tests(tests, store=store, reader=builtin)
    in_conversation, alone, unresolved = report.results
    assert in_conversation.passed and in_conversation.top.title.startswith("Aldermoor opens Riverside")
    assert in_conversation.as_dict()["after"] == ["Who drove the first tram on the Riverside Line?"]
    assert "after" not in alone.as_dict() and not alone.passed  # alone, "she" is no one
    # a follow-up of a follow-up that had nothing to lean on: asked back, so no answer
    assert unresolved.passed and unresolved.no_answer
    json.dumps(report.as_dict())


#: Follow-ups of examples/conversations.yaml the builtin reader answered right, encoder off, when
#: the 52 cases were run (all written before; 39 at the first run, 40 after the design changes in
#: retrieval/followup.py, 42 with the second-stage builtin reader and the rule that a follow-up's
#: answer never repeats the previous one; 41 with the encoder on; still 42 with "it" read as the
#: previous question's subject and the no-answer rule with evidence, and 42 with the encoder on
#: too; the same follow-ups asked alone pass 32; 43 (42 with the encoder on) reading wider windows
#: with the ranking and no-answer rule of retrieval.span_ranking). Every case is kept.
CONVERSATIONS_PASSED = 43


#: The same with the sentence reader (encoder off): its answers are whole sentences, and the
#: sentence that answered before often holds the follow-up's fact too ("How old is she?"). 38,
#: then 39 once "it" after an answer that is no name stood for the previous question's subject,
#: 40 with the kinds of retrieval.answer_types (a cause for "Why?").
SENTENCE_CONVERSATIONS_PASSED = 40


@pytest.mark.slow
@pytest.mark.parametrize("reader_name, measured", [("builtin", CONVERSATIONS_PASSED),
                                                   ("sentence", SENTENCE_CONVERSATIONS_PASSED)])
def test_the_conversational_set_passes_what_it_measured(reader_name, measured, builtin):
    tests = load_answer_tests(CONVERSATIONS)
    assert len(tests.cases) == 52 and all(case.after for case in tests.cases)
    reader = builtin if reader_name == "builtin" else load_reader("sentence", use_encoder=False)
    with article_collection(tests) as store:
        report = run_answer_tests(tests, store=store, reader=reader)
    passed = sum(r.passed for r in report.results)
    assert passed >= measured, [r.case.where for r in report.results if not r.passed]
