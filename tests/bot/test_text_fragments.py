"""bot/text_fragment.py: links that open a page at a sentence, as the Text Fragments spec reads them.

Each link is checked against the spec's grammar (``TextDirectiveExplicitChar`` or ``%XX`` only) and
parsed back with the spec's "parse a text directive" steps (split on commas, a prefix ends and a
suffix begins with "-", percent-decode), so a character left unencoded that the syntax uses shows.
"""

import re
from urllib.parse import unquote, urlsplit

import pytest

from qabot.bot.text_fragment import (
    EXACT_MAX_CHARS,
    EXACT_MAX_ENCODED,
    RANGE_WORDS,
    encode,
    page_link,
    sentence_link,
    text_directive,
)

URL = "https://example.org/story"
_GRAMMAR = re.compile(r"(?:[A-Za-z0-9!$'()*+./:;=?@_~]|%[0-9A-F]{2})+")


def parsed(link: str) -> tuple[str, str | None]:
    """(textStart, textEnd) of the link's text directive, read as the spec's parser reads it."""
    fragment = urlsplit(link).fragment
    assert fragment.startswith(":~:text="), link
    tokens = fragment[len(":~:text="):].split(",")
    assert all(_GRAMMAR.fullmatch(token) for token in tokens), tokens
    assert not tokens[0].endswith("-") and not tokens[-1].startswith("-")  # no prefix or suffix read
    assert 1 <= len(tokens) <= 2
    decoded = [unquote(token, errors="strict") for token in tokens]
    return decoded[0], decoded[1] if len(decoded) == 2 else None


def matched(sentence: str, link: str) -> str:
    """The text a browser highlights in the sentence: textStart, or textStart up to the first
    textEnd after it; each must begin and end at a word boundary."""
    start, end = parsed(link)
    begin = sentence.index(start)
    stop = begin + len(start) if end is None else sentence.index(end, begin + len(start)) + len(end)
    for edge in (begin, begin + len(start), stop - len(end or start), stop):
        inside_word = 0 < edge < len(sentence) and sentence[edge - 1].isalnum() and sentence[edge].isalnum()
        assert not inside_word, (sentence, edge)
    return sentence[begin:stop]


@pytest.mark.parametrize(
    "sentence",
    [
        "Before this trip, Putin had been to Pyongyang only once, in July 2000.",
        "Kim Jong-un met Putin – the first visit in 24 years — at 5:42 a.m.",
        "The Norland Chamber of Industry & Commerce said R&D spending fell 7%.",
        "“We are not in a hurry,” she said; 'markets' should not assume (rates < 3%) #1?",
        "Café Müller’s crème brûlée: naïve, über-sweet, and 100% worth it!",
        "東京都は、新しい路面電車の路線を開業した。",
        "A plus+sign, a slash/path, a tilde~ and an equals= sign at @home",
    ],
)
def test_short_sentences_are_matched_whole_and_parse_back_exactly(sentence):
    link = sentence_link(URL, sentence)
    start, end = parsed(link)
    assert (start, end) == (sentence, None)
    assert link.isascii() and " " not in link


def test_the_syntax_characters_and_non_ascii_are_percent_encoded():
    link = sentence_link(URL, "one-two, three & four é ü 東")
    assert link == (
        f"{URL}#:~:text=one%2Dtwo%2C%20three%20%26%20four%20%C3%A9%20%C3%BC%20%E6%9D%B1"
    )
    assert sentence_link(URL, "keeps !$'()*+./:;=?@_~ as they are") == (
        f"{URL}#:~:text=keeps%20!$'()*+./:;=?@_~%20as%20they%20are"
    )


def test_white_space_is_the_page_s_single_spaces():
    assert parsed(sentence_link(URL, "  The council\nvoted\f to\t approve it. "))[0] == "The council voted to approve it."


def test_a_long_sentence_is_a_range_of_its_first_and_last_whole_words():
    sentence = (
        "Russian President Vladimir Putin and North Korean leader Kim Jong-un signed a comprehensive "
        "strategic partnership treaty on Wednesday, the centrepiece of Putin's state visit to "
        "Pyongyang, according to Russian and North Korean state media, which said the document would "
        "set out the direction of future cooperation for decades."
    )
    link = sentence_link(URL, sentence)
    start, end = parsed(link)
    assert start == "Russian President Vladimir Putin" and end == "future cooperation for decades."
    assert len(start.split()) == len(end.split()) == RANGE_WORDS
    assert matched(sentence, link) == sentence
    assert len(link) < len(URL) + 120  # the whole sentence would take over 300


def test_a_long_sentence_of_few_long_words_and_one_without_spaces():
    words = ["Donaudampfschifffahrtsgesellschaftskapitän"] * 7
    start, end = parsed(sentence_link(URL, " ".join(words)))
    assert start == end == " ".join(words[:3])  # whole words, no more than half of them a side
    long_cjk = "東京都は新しい路面電車の路線を開業した" * 3 + "、" + "市民が歓迎した" * 3 + "。"
    start, end = parsed(sentence_link(URL, long_cjk))
    assert start + end == long_cjk  # cut only after CJK punctuation, a word boundary
    one_word = "x" * (EXACT_MAX_CHARS + 1)
    assert parsed(sentence_link(URL, one_word)) == (one_word, None)


def test_exact_up_to_the_limit_then_a_range():
    fits = " ".join(["word"] * (EXACT_MAX_CHARS // 5)) + "x"  # "word " a word
    assert len(fits) == EXACT_MAX_CHARS and fits.endswith(" wordx")
    assert parsed(sentence_link(URL, fits)) == (fits, None)
    over = fits + "z"  # one character more
    assert parsed(sentence_link(URL, over)) == ("word word word word", "word word word wordxz")
    assert matched(over, sentence_link(URL, over)) == over
    cjk = "東京都は、" * 20  # 100 characters, but 900 encoded
    assert len(cjk) < EXACT_MAX_CHARS and len(encode(cjk)) > EXACT_MAX_ENCODED
    assert parsed(sentence_link(URL, cjk)) == ("東京都は、" * RANGE_WORDS, "東京都は、" * RANGE_WORDS)


def test_a_url_with_a_query_gets_the_fragment_after_it():
    link = sentence_link("https://example.org/story?id=7&ref=rss", "The tram left at 5:42.")
    assert link == "https://example.org/story?id=7&ref=rss#:~:text=The%20tram%20left%20at%205:42."


def test_a_url_that_has_a_fragment_keeps_it_and_gets_none():
    assert sentence_link("https://example.org/story#part-2", "Any sentence.") == "https://example.org/story#part-2"
    assert sentence_link("https://example.org/story#", "Any sentence.") == "https://example.org/story#"
    assert sentence_link(URL, "   ") == URL
    assert text_directive("") is None


def test_a_pdf_opens_at_its_page():
    assert page_link("https://example.org/report.pdf", 3) == "https://example.org/report.pdf#page=3"
    assert page_link("https://example.org/report.pdf#page=1", 3) == "https://example.org/report.pdf#page=1"
