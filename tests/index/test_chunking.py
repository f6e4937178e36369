"""index/chunking.py: chunks are exact spans of whole sentences, overlap by one, stay small."""

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qabot.index import chunking
from qabot.index.chunking import MAX_CHUNK_CHARS, MAX_WORDS, chunk_text, split_sentences
from qabot.index.ingest import from_file
from tests.conftest import SAMPLE_ARTICLES

_WORD = re.compile(r"\S+")

# --- random article-like text -------------------------------------------------------------------

plain_words = st.text(
    alphabet=st.characters(categories=("Lu", "Ll", "Nd", "Lo", "So")), min_size=1, max_size=12
)
tricky_words = st.sampled_from(
    [
        "U.S.", "Mr.", "Dr.", "Jan.", "e.g.", "i.e.", "etc.", "No.", "3.5", "1,000", "...", "—", "-",
        '"Hi.', 'Bye."', "(see", "above)", "«quoted»", "“curly”", "it's", "naïve", "Zürich", "東京",
        "🙂", "@user", "#tag", "http://example.com/a.b", "a.b.c", "!", "?", ";", ":",
    ]
)
word = st.one_of(plain_words, plain_words, tricky_words)
sentence = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(word, min_size=1, max_size=20),
    st.sampled_from([".", ".", "?", "!", "", "...", '."', ".)", ":"]),
)
#: A "sentence" with no full stop at all, long enough to be cut at word boundaries.
run_on = st.builds(
    lambda n, vocabulary: " ".join(vocabulary[i % len(vocabulary)] for i in range(n)),
    st.integers(100, 400),
    st.lists(word, min_size=1, max_size=7),
)
paragraph = st.lists(st.one_of(sentence, sentence, sentence, run_on), min_size=1, max_size=8).flatmap(
    lambda sentences: st.sampled_from([" ", "  ", " \t"]).map(lambda sep: sep.join(sentences))
)
article_text = st.lists(paragraph, min_size=1, max_size=6).flatmap(
    lambda paragraphs: st.sampled_from(["\n", "\n\n", "\r\n", "\n \n", "\n\n\n"]).map(
        lambda sep: sep.join(paragraphs)
    )
).flatmap(lambda body: st.sampled_from(["", " ", "\n", "  \n"]).map(lambda pad: pad + body + pad))
any_text = st.one_of(article_text, article_text, article_text, st.text(max_size=2000))


def words_in(text: str) -> int:
    return len(_WORD.findall(text))


def check_chunks(text: str) -> None:
    sentences = split_sentences(text)
    chunks = chunk_text(text)

    # sentences: exact, non-empty, trimmed, in order, not overlapping
    for s in sentences:
        piece = text[s.start : s.end]
        assert piece and piece == piece.strip()
    for a, b in zip(sentences, sentences[1:]):
        assert a.end <= b.start
    # nothing but white space is left out of the sentences
    covered = set()
    for s in sentences:
        covered.update(range(s.start, s.end))
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)

    if not text.strip():
        assert chunks == []
        return
    assert chunks, "text with words gave no chunks"

    for i, c in enumerate(chunks):
        assert c.ordinal == i
        assert text[c.start : c.end] == c.text

    # each chunk is a run of whole sentences
    starts = {s.start: i for i, s in enumerate(sentences)}
    ends = {s.end: i for i, s in enumerate(sentences)}
    runs = []
    for c in chunks:
        assert c.start in starts and c.end in ends, "chunk does not start and end on sentence bounds"
        runs.append((starts[c.start], ends[c.end]))
        first, last = runs[-1]
        assert first <= last
        if last > first:
            assert words_in(c.text) <= MAX_WORDS, "a chunk of several sentences is too long"

    # every sentence lies wholly inside at least one chunk
    for s in sentences:
        assert any(c.start <= s.start and s.end <= c.end for c in chunks)

    # in order, each adding new sentences; one sentence of overlap after a chunk of several
    # sentences (unless that sentence and the next cannot share a chunk: too many words or
    # characters together), none after a single one
    counts = [words_in(text[s.start : s.end]) for s in sentences]
    assert runs[0][0] == 0 and runs[-1][1] == len(sentences) - 1
    for (first_a, last_a), (first_b, last_b) in zip(runs, runs[1:]):
        assert first_a < first_b and last_a < last_b, "a chunk repeats part of the previous one"
        fits = (counts[last_a] + counts[last_a + 1] <= MAX_WORDS
                and sentences[last_a + 1].end - sentences[last_a].start <= MAX_CHUNK_CHARS)
        if last_a > first_a and fits:
            assert first_b == last_a, "consecutive chunks must share exactly one sentence"
        else:
            assert first_b == last_a + 1


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
# found by Hypothesis: two sentences of 150 words together, but of over MAX_CHUNK_CHARS characters
@example(text="Short one. " + "http://example.com/abcdefghijklmnopq " * 40 + "ends. " + "abcdefghijklmnopq " * 99 + "ends.")
def test_chunks_are_exact_ordered_overlapping_spans(text):
    check_chunks(text)


@pytest.mark.parametrize(
    "text",
    [
        "word " * 1000,  # one enormous "sentence" with no full stop
        ("word " * 140 + ". ") * 3,
        "Short. " * 400,
        "\n".join(["line without a stop"] * 200),
        "a\u00a0b\u2003c. D\u2028E. F",  # Unicode spaces and a line separator
    ],
    ids=["no-full-stop", "three-long-sentences", "many-short", "lines-without-stops", "unicode-spaces"],
)
def test_chunk_invariants_on_edge_cases(text):
    check_chunks(text)


# --- sentence splitting -------------------------------------------------------------------------


def sentence_texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "The U.S. economy grew last year. It slowed in May.",
            ["The U.S. economy grew last year.", "It slowed in May."],
        ),
        (
            "Mr. Smith met Dr. Jones in London. They talked.",
            ["Mr. Smith met Dr. Jones in London.", "They talked."],
        ),
        (
            "The law takes effect on Jan. 5 next year. Shops must comply.",
            ["The law takes effect on Jan. 5 next year.", "Shops must comply."],
        ),
        (
            'He said "Hi. Bye." and left. Nobody answered.',
            ['He said "Hi. Bye." and left.', "Nobody answered."],
        ),
    ],
)
def test_abbreviations_and_quotes_do_not_break_sentences(text, expected):
    assert sentence_texts(text) == expected


def test_line_break_ends_a_sentence():
    text = "Headline without a stop\nThe body starts here. It goes on\nAnother line"
    assert sentence_texts(text) == [
        "Headline without a stop",
        "The body starts here.",
        "It goes on",
        "Another line",
    ]


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t \r\n ", "\u00a0\u2003"])
def test_empty_or_blank_text_gives_no_chunks(text):
    assert split_sentences(text) == []
    assert chunk_text(text) == []


def test_long_sentence_without_stops_is_cut_into_pieces():
    text = " ".join(f"w{i}" for i in range(1000))
    chunks = chunk_text(text)
    assert len(chunks) > 1
    assert all(words_in(c.text) <= MAX_WORDS for c in chunks)
    assert chunks[0].text.startswith("w0 ") and chunks[-1].text.endswith("w999")


def test_consecutive_chunks_share_one_sentence():
    sentences = [f"Sentence {i} has " + "some more words " * 10 + "in it." for i in range(12)]
    text = " ".join(sentences)
    chunks = chunk_text(text)
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        shared = text[b.start : a.end]
        assert shared in sentences, "the overlap must be exactly one whole sentence"


def test_no_chunk_is_a_mere_repeat_of_the_previous_one():
    # 2 + 99 words fit together; 99 + 99 do not: the second chunk must not be the 99 alone
    text = "Short one. " + " ".join(["bee"] * 99) + ". " + " ".join(["sea"] * 99) + "."
    chunks = chunk_text(text)
    assert [words_in(c.text) for c in chunks] == [101, 99]
    assert chunks[1].start == chunks[0].end + 1


def test_sample_article_chunks_are_about_100_to_150_words():
    path = next(SAMPLE_ARTICLES.glob("01-*.md"))
    text = from_file(path).text
    chunks = chunk_text(text)
    assert len(chunks) >= 2
    sizes = [words_in(c.text) for c in chunks]
    assert all(size <= MAX_WORDS for size in sizes)
    assert all(size >= 100 for size in sizes[:-1]), sizes  # only the last may be short
    assert "Before this trip, Putin had been to Pyongyang only once, in July 2000." in "".join(
        c.text for c in chunks
    )
    check_chunks(text)


def test_a_huge_word_or_a_long_list_makes_passages_of_bounded_size():
    """A 280,000-character "word" was one chunk: a Sources press sent it as 73 messages."""
    text = "Intro sentence here. " + "x" * 280_000 + " tail words. " + ("item, " * 3000) + "end."
    chunks = chunk_text(text)
    assert max(len(c.text) for c in chunks) <= chunking.MAX_CHUNK_CHARS
    assert all(text[c.start:c.end] == c.text for c in chunks)
    covered = "".join(c.text for c in chunks)
    assert covered.count("x") >= 280_000  # nothing is dropped


@pytest.mark.parametrize("title", ["Ms.", "Mx.", "Cdr.", "Amb.", "Atty.", "Ald.", "Mr.", "Dr.", "Sen.", "Gen."])
def test_honorifics_do_not_end_a_sentence(title):
    text = f"The company's chief executive, {title} Dana Whitcombe, said sales rose. Shares fell."
    sentences = [text[s.start:s.end] for s in split_sentences(text)]
    assert sentences == [f"The company's chief executive, {title} Dana Whitcombe, said sales rose.", "Shares fell."]


def test_a_sentence_ending_in_a_plain_word_still_ends():
    text = "She thanked the Ms. Marvel fans. Then she left. It was approx. 5 pm. Rain fell."
    sentences = [text[s.start:s.end] for s in split_sentences(text)]
    assert sentences == ["She thanked the Ms. Marvel fans.", "Then she left.", "It was approx. 5 pm.", "Rain fell."]


# --- hostile text: the work stays linear in its length -----------------------------------------


def repeated(shape: str, size: int = 1_000_000) -> str:
    return (shape * (size // len(shape) + 1))[:size]


def check_covered(text: str, chunks) -> None:
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
    assert max(len(c.text) for c in chunks) <= chunking.MAX_CHUNK_CHARS


@pytest.mark.slow
def test_sentencex_reads_a_bounded_window_of_a_long_line(monkeypatch):
    """«"'( repeated made sentencex's work grow with the square of the line (100k characters: 20 s)."""
    text = repeated("«\"'(")
    read = []
    segment = chunking.segment

    def bounded_segment(language, piece):
        read.append(len(piece))
        assert len(piece) <= 10_000, f"sentencex was given {len(piece)} characters at once"
        return segment(language, piece)

    monkeypatch.setattr(chunking, "segment", bounded_segment)
    check_covered(text, chunk_text(text))
    assert sum(read) <= 2 * len(text)


@pytest.mark.slow
def test_joining_abbreviations_looks_at_a_bounded_tail(monkeypatch):
    """'Ms. Mx. Ft. Vol. ' repeated was joined by searching the whole growing sentence after each
    piece (100k characters: 15 s)."""
    text = repeated("Ms. Mx. Ft. Vol. ")
    searched = [0]
    abbreviation_end = chunking._ABBREVIATION_END

    class CountingPattern:
        def search(self, string):
            searched[0] += len(string)
            assert searched[0] <= 20 * len(text), "the abbreviation search reads the text over and over"
            return abbreviation_end.search(string)

    monkeypatch.setattr(chunking, "_ABBREVIATION_END", CountingPattern())
    check_covered(text, chunk_text(text))
