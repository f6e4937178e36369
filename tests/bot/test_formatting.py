"""bot/formatting.py: answers as Telegram HTML (escaped, bold answer in its sentence), plain text and JSON."""

import json
import re

from qabot.bot.formatting import (
    articles_kept,
    MAX_SOURCE_MESSAGES,
    NO_ANSWER,
    SHORTENED,
    more_answers_as_html,
    result_as_html,
    result_as_json,
    result_as_text,
    sources_as_html,
    stats_as_text,
)
from qabot.retrieval.types import Answer, Passage, Result
from tests.bot.conftest import Rendered

CONTEXT = "The first tram left at 5:42 a.m., driven by Priya <Nandakumar> & *crew*."


def span_answer(**changes) -> Answer:
    text = "Priya <Nandakumar>"
    start = 100 + CONTEXT.index(text)
    fields = dict(
        text=text, score=9.0, article_id=2, title="Tram <opens> & more", url="https://x.example/?a=1&b=2",
        published="2024-09-14", start=start, end=start + len(text), context=CONTEXT, context_start=100,
    )
    return Answer(**(fields | changes))


def passage(text: str, n: int = 1) -> Passage:
    return Passage(n, n, f"Article {n}", None, None, 0, len(text), text, 1.0)


def result(*answers: Answer, passages=(), reader="span") -> Result:
    return Result("q?", reader, not answers, tuple(answers), tuple(passages))


def test_answer_is_bold_inside_its_sentence_with_linked_source():
    (message,) = result_as_html(result(span_answer()))
    shown = Rendered(message)
    assert shown.bold == ["Priya <Nandakumar>"]
    assert shown.text == f"{CONTEXT}\n— Tram <opens> & more, 2024-09-14"
    sentence = "The%20first%20tram%20left%20at%205:42%20a.m.%2C%20driven%20by%20Priya%20%3CNandakumar%3E%20%26%20*crew*."
    assert shown.links == [(f"https://x.example/?a=1&b=2#:~:text={sentence}", "Tram <opens> & more")]
    assert "<Nandakumar>" not in message and "&lt;Nandakumar&gt;" in message


def test_answer_found_in_its_context_when_offsets_disagree_and_shown_apart_when_absent():
    moved = span_answer(context_start=0)
    assert Rendered(result_as_html(result(moved))[0]).bold == ["Priya <Nandakumar>"]
    absent = span_answer(context="Another sentence.", context_start=0)
    shown = Rendered(result_as_html(result(absent))[0])
    assert shown.bold == ["Priya <Nandakumar>"] and "Another sentence." in shown.text


def test_only_web_addresses_are_linked():
    for url in ("javascript:alert(1)", "http://[::1", "ftp://x.example/a", None, "https://x/" + "a" * 2000):
        (message,) = result_as_html(result(span_answer(url=url)))
        assert Rendered(message).links == []


def test_no_answer_sentence_note_more_answers_and_sources():
    assert Rendered(result_as_html(result(passages=[passage("x")]))[0]).text.startswith(NO_ANSWER)
    shown = Rendered(result_as_html(result(span_answer(), reader="sentence"))[0])
    assert shown.text.endswith("(answered by the sentence reader: no QA model is loaded)")
    (more,) = more_answers_as_html(result(span_answer(), span_answer(text="5:42 a.m.", start=122, end=131)))
    assert Rendered(more).text.startswith("2. The first tram left at 5:42 a.m.")
    assert Rendered(more_answers_as_html(result(span_answer()))[0]).text == "There are no other answers."
    (sources,) = sources_as_html(result(passages=[passage("One <b>.", 1), passage("Two &.", 2)]))
    assert Rendered(sources).text == "1. Article 1\nOne <b>.\n\n2. Article 2\nTwo &."


def test_sources_fit_in_a_few_messages_with_long_passages_cut_short_at_a_word():
    long = "The glacier & its ice <moved> nine metres. " * 7000  # 300,000 characters, as old chunks could be
    texts = [Rendered(m).text for m in sources_as_html(result(passages=[passage(long, n) for n in range(1, 6)]))]
    assert len(texts) <= MAX_SOURCE_MESSAGES
    shown = "\n".join(texts)
    parts = re.split(r"^\d\. Article \d\n", shown, flags=re.MULTILINE)[1:]
    assert len(parts) == 5
    for part in parts:
        cut, note = part.strip().rsplit(" …\n", 1)
        assert note == SHORTENED and long.startswith(cut) and long[len(cut)] == " "  # after a whole word

    (alone,) = [Rendered(m).text for m in sources_as_html(result(passages=[passage(long[:3000])]))]
    assert alone == "1. Article 1\n" + long[:3000].strip()  # what fits is not cut
    one = [Rendered(m).text for m in sources_as_html(result(passages=[passage(long)]))]
    assert len(one) == MAX_SOURCE_MESSAGES and one[-1].endswith(SHORTENED)  # one passage gets all the room
    unbroken = [Rendered(m).text for m in sources_as_html(result(passages=[passage("x" * 50_000)]))]
    assert len(unbroken) <= MAX_SOURCE_MESSAGES and unbroken[-1].endswith("x …\n" + SHORTENED)


def test_stats_in_words():
    stats = {
        "articles": 8, "chunks": 24, "questions": 4, "answered": 3, "votes_up": 2, "votes_down": 1,
        "latest_unanswered": ["Who won Wimbledon?"],
    }
    text = stats_as_text(stats)
    assert "Answered: 3 (75%)" in text and "Feedback: 2 👍, 1 👎" in text
    assert text.endswith("Latest unanswered questions:\n  - Who won Wimbledon?")
    empty = stats_as_text(stats | {"questions": 0, "answered": 0, "latest_unanswered": []})
    assert "Answered: 0\n" in empty


# --- citations: the page of a PDF, links to the sentence --------------------------------------------

PAGED_CONTEXT = "The harbour flood barrier\fwill be finished in December 2026."


def pdf_answer(**changes) -> Answer:
    text = "December 2026"
    start = 500 + PAGED_CONTEXT.index(text)
    fields = dict(
        text=text, score=7.0, article_id=3, title="Works programme 2024", url=None, published=None,
        start=start, end=start + len(text), context=PAGED_CONTEXT, context_start=500, page=4,
    )
    return Answer(**(fields | changes))


def test_a_pdf_answer_names_its_page_in_html_plain_text_and_json():
    shown = Rendered(result_as_html(result(pdf_answer()))[0])
    assert shown.text == "The harbour flood barrier will be finished in December 2026.\n— Works programme 2024, page 4"
    assert shown.links == []  # no web address
    assert result_as_text(result(pdf_answer())).splitlines() == [
        "December 2026",
        "   “The harbour flood barrier will be finished in December 2026.”",
        "   — Works programme 2024, page 4 [article 3]",
    ]
    (found,) = result_as_json(result(pdf_answer()))["answers"]
    assert found["page"] == 4 and found["link"] is None
    assert found["context"] == "The harbour flood barrier will be finished in December 2026."
    assert len(found["context"]) == len(PAGED_CONTEXT)  # offsets still point into the text
    assert result_as_json(result(span_answer()))["answers"][0]["page"] is None


def test_a_page_break_is_never_shown():
    answers = [pdf_answer(), pdf_answer(text="barrier\fwill", start=519, end=531)]
    shown = result_as_html(result(*answers)) + more_answers_as_html(result(*answers))
    shown += sources_as_html(result(passages=[passage("One page.\fThe next page.")]))
    shown.append(result_as_text(result(*answers)))
    shown.append(json.dumps(result_as_json(result(*answers)), ensure_ascii=False))
    assert not any("\f" in text or "\\f" in text or "\\u000c" in text for text in shown)
    assert "<b>barrier will</b>" in result_as_html(result(answers[1]))[0]


def test_a_pdf_with_a_web_address_links_to_its_page_and_sources_name_theirs():
    url = "https://example.org/works.pdf"
    shown = Rendered(result_as_html(result(pdf_answer(url=url)))[0])
    assert shown.links == [(f"{url}#page=4", "Works programme 2024")]
    assert result_as_text(result(pdf_answer(url=url))).endswith(f"— Works programme 2024, page 4, {url}#page=4 [article 3]")
    paged = Passage(7, 3, "Works programme 2024", url, None, 0, 9, "One page.", 1.0, page=2)
    (sources,) = sources_as_html(result(passages=[paged]))
    assert Rendered(sources).text.startswith("1. Works programme 2024, page 2\n")
    assert Rendered(sources).links == [(f"{url}#page=2", "Works programme 2024")]


def test_an_answer_links_to_its_sentence_in_plain_text_and_json_and_a_passage_to_its_page():
    expected = "https://x.example/?a=1&b=2#:~:text=The%20first%20tram%20left%20at%205:42%20a.m."
    (found,) = result_as_json(result(span_answer()))["answers"]
    assert found["url"] == "https://x.example/?a=1&b=2" and found["link"].startswith(expected)
    assert f", {found['link']} [article 2]" in result_as_text(result(span_answer()))
    (sources,) = sources_as_html(result(passages=[Passage(1, 2, "Tram", "https://x.example/t", None, 0, 3, "One", 1.0)]))
    assert Rendered(sources).links == [("https://x.example/t", "Tram")]  # a passage: the plain page


def test_a_link_too_long_for_telegram_falls_back_to_the_plain_address():
    url = "https://x.example/" + "a" * 800
    long_context = " ".join(["ümlaut"] * 60)  # 660 characters encoded: too many
    answer = span_answer(url=url, text="ümlaut", context=long_context, start=100, end=106)
    link = Rendered(result_as_html(result(answer))[0]).links[0][0]
    assert link.startswith(url + "#:~:text=")  # a range of words still fits
    huge = span_answer(url=url, text="x", context="x" * 200 + " " + "é" * 100, start=100, end=101)
    assert Rendered(result_as_html(result(huge))[0]).links == [(url, "Tram <opens> & more")]


def test_a_declined_question_shows_its_best_candidates_marked_and_labelled_not_certain():
    unsure = (span_answer(), span_answer(text="5:42 a.m.", start=123, end=132, article_id=3, title="Other"))
    declined = Result("q?", "span", True, (), (passage("The first lines of a chunk."),), unsure=unsure)
    shown = Rendered(result_as_html(declined)[0])
    assert shown.text.startswith(f"{NO_ANSWER}\n\nNot certain, but these come closest:\n1. {CONTEXT}\n— Tram")
    assert shown.bold == ["Priya <Nandakumar>", "5:42 a.m."]
    assert "The first lines of a chunk" not in shown.text and shown.text.endswith("The passages read are under Sources.")
    text = result_as_text(declined).splitlines()
    assert text[:3] == [NO_ANSWER, "Not certain, but these come closest:",
                        "  - “The first tram left at 5:42 a.m., driven by [Priya <Nandakumar>] & *crew*.”"]
    assert "[5:42 a.m.]" in text[4] and "The first lines of a chunk" not in "\n".join(text)
    body = result_as_json(declined)
    assert [a["text"] for a in body["unsure"]] == ["Priya <Nandakumar>", "5:42 a.m."]
    assert body["notes"] == {"language": None, "unsure": "Not certain, but these come closest:", "missing": None}
    answered = result_as_json(Result("q?", "span", False, (span_answer(),), ()))
    assert answered["unsure"] == [] and answered["notes"] == {"language": None, "unsure": None, "missing": None}


def test_what_unfollowing_keeps_agrees_with_its_count():
    assert articles_kept(1) == "the 1 article it brought stays"
    assert articles_kept(4) == "the 4 articles it brought stay"
