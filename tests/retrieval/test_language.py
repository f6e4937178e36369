"""retrieval/language.py: questions clearly not in English are told qabot reads English; English ones never.

The questions were written before the check was measured on them; every case is kept. Measured when
written: 53 of the 57 translations are judged not English (the four missed are made of words English
has too), and none of the English questions is.
"""

import dataclasses

import pytest
import yaml

from bot.formatting import ENGLISH_ONLY, NO_ANSWER, result_as_html, result_as_text
from retrieval.language import looks_english
from retrieval.types import Result
from tests.bot.conftest import Rendered
from tests.conftest import ROOT

#: Sample questions (examples/answers.yaml) translated into 17 languages.
TRANSLATED = {
    "fr": [
        'Quand Poutine a-t-il visité Pyongyang pour la dernière fois ?',
        'Qui a conduit le premier tramway ?',
        'Combien coûte un billet adulte ?',
        "En quelle année l'ancien tramway d'Aldermoor a-t-il fermé ?",
        'À quel niveau la Banque de Norland a-t-elle maintenu son taux ?',
        'Qui a gagné la finale de la coupe ?',
        'Combien de personnes ont été secourues en bateau ?',
        "Quel était le taux d'inflation en octobre ?",
    ],
    "es": [
        '¿Cuándo visitó Putin Pionyang por última vez?',
        '¿Quién condujo el primer tranvía?',
        '¿Cuánto cuesta un billete de adulto?',
        '¿En qué año cerró el antiguo tranvía de Aldermoor?',
        '¿Quién ganó la final de la copa?',
        '¿Cuántas personas fueron rescatadas en barco en Millbridge?',
        '¿Qué decidió el Banco de Norland?',
    ],
    "de": [
        'Wann hat Putin zuletzt Pjöngjang besucht?',
        'Wer fuhr die erste Straßenbahn?',
        'Wie viel kostet eine Fahrkarte für Erwachsene?',
        'In welchem Jahr wurde die alte Straßenbahn von Aldermoor stillgelegt?',
        'Wer hat das Pokalfinale gewonnen?',
        'Wie hoch stieg der Fluss Tarrow am Pegel Millbridge?',
        'Was hat die Bank von Norland beschlossen?',
    ],
    "it": [
        "Quando Putin ha visitato Pyongyang l'ultima volta?",
        'Chi ha guidato il primo tram?',
        'Quanto costa un biglietto per adulti?',
        'Chi ha vinto la finale della coppa?',
        'Cosa ha deciso la Banca di Norland?',
    ],
    "pt": [
        'Quando é que Putin visitou Pyongyang pela última vez?',
        'Quem conduziu o primeiro elétrico?',
        'Quanto custa um bilhete de adulto?',
        'Quem ganhou a final da taça?',
        'O que decidiu o Banco de Norland?',
    ],
    "nl": [
        'Wanneer heeft Poetin Pyongyang voor het laatst bezocht?',
        'Wie reed de eerste tram?',
        'Hoeveel kost een kaartje voor een volwassene?',
        'Wie heeft de bekerfinale gewonnen?',
    ],
    "pl": [
        'Kiedy Putin ostatnio odwiedził Pjongjang?',
        'Kto prowadził pierwszy tramwaj?',
        'Ile kosztuje bilet dla dorosłego?',
    ],
    "tr": [
        "Putin Pyongyang'ı en son ne zaman ziyaret etti?",
        'İlk tramvayı kim sürdü?',
        'Kupa finalini kim kazandı?',
    ],
    "ru": [
        'Когда Путин в последний раз посещал Пхеньян?',
        'Кто вёл первый трамвай?',
        'Сколько стоит билет для взрослого?',
    ],
    "uk": [
        'Хто виграв фінал кубка?',
    ],
    "el": [
        'Ποιος κέρδισε τον τελικό του κυπέλλου;',
    ],
    "zh": [
        '普京上次访问平壤是什么时候？',
        '谁驾驶了第一辆有轨电车？',
        '成人单程票多少钱？',
    ],
    "ja": [
        'プーチンが最後に平壌を訪れたのはいつですか？',
        '最初の路面電車を運転したのは誰ですか？',
    ],
    "ko": [
        '푸틴이 마지막으로 평양을 방문한 것은 언제입니까?',
    ],
    "ar": [
        'متى زار بوتين بيونغ يانغ آخر مرة؟',
        'من فاز بنهائي الكأس؟',
    ],
    "he": [
        'מי ניצח בגמר הגביע?',
    ],
    "hi": [
        'पुतिन ने आखिरी बार प्योंगयांग का दौरा कब किया था?',
    ],
}
#: English questions a user may type that are short, keyword-like or hold foreign names.
ENGLISH = [
    'Putin Pyongyang visit',
    'Riverside tram fare',
    'Bank of Norland rate',
    'Putin?',
    'Harbourside',
    'cup final winner',
    'tram driver name',
    'Kim Jong-un treaty date',
    'Norland inflation October',
    'Millbridge flood defence start',
    'Who drove the first tram?',
    'How much does a single adult fare cost?',
    'Who won the cup final?',
    'What did the Bank of Norland decide?',
    'Lumora kettle recall units',
    'Tarrow river peak height',
    'Aldermoor tramway closure year',
    'Kumsusan State Guest House',
    'Vladimir Putin Kim Jong Un summit',
    'Café opening Montréal',
    'Zürich tram strike',
    'Pokémon sales 2024',
    'Why?',
    'Quo vadis',
    'déjà vu',
    'Schadenfreude meaning',
    'fiesta dates',
    'Pyongyang',
    'La Liga winner',
    'El Niño forecast',
    'When did the king die?',
    'What OS does the phone run?',
    'Le Monde report on Putin',
    'Who composed Don Giovanni?',
]
#: What the check measured on TRANSLATED when it was written (see the module docstring).
JUDGED_NOT_ENGLISH = 53


def test_no_question_of_the_english_answer_tests_is_judged_foreign():
    cases = yaml.safe_load((ROOT / "examples" / "answers.yaml").read_text(encoding="utf-8"))["cases"]
    assert len(cases) == 88
    assert [c["question"] for c in cases if not looks_english(c["question"])] == []


@pytest.mark.parametrize("question", ENGLISH)
def test_short_and_keyword_english_questions_are_english(question):
    assert looks_english(question)


def test_translations_are_told_apart_as_measured():
    judged = {q: looks_english(q) for qs in TRANSLATED.values() for q in qs}
    assert len(judged) == 57
    assert sum(not english for english in judged.values()) == JUDGED_NOT_ENGLISH
    missed = [q for q, english in judged.items() if english]
    assert "Was hat die Bank von Norland beschlossen?" in missed  # every word of it is English too
    for lang in ("ru", "uk", "el", "zh", "ja", "ko", "ar", "he", "hi"):  # another script: always told
        assert not any(judged[q] for q in TRANSLATED[lang]), lang


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
