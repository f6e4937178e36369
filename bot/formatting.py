"""Formatting answers for people: plain text (CLI, console), JSON (``--json``) and Telegram HTML.

Every front end prints the same ``Result`` from ``retrieval.answer``; only the markup differs.
Telegram messages are built from ``Run``s and cut to Telegram's limit by ``bot/html_messages.py``.
One press of Sources sends at most ``MAX_SOURCE_MESSAGES`` messages: passages too long for that are
cut short, with a note. A citation names the page of a PDF, and links an answer to its sentence in
the web page (a text fragment, ``bot.text_fragment``) or to its PDF's page. The collection (its
articles, statistics and feeds) is listed here too, for the CLI, the console and the admin commands.
"""

import re
import textwrap
from urllib.parse import urlsplit

from qabot.bot.html_messages import MAX_MESSAGE_CHARS, Run, split_html
from qabot.bot.text_fragment import page_link, sentence_link
from qabot.index.pages import PAGE_BREAK
from qabot.index.store import printable
from qabot.retrieval.language import looks_english
from qabot.retrieval.types import Answer, Passage, Result

#: JSON keys of one answer, as documented for ``qabot ask --json`` (``link``: ``citation_link``).
ANSWER_KEYS = ("text", "score", "article_id", "title", "url", "link", "page", "start", "end", "context")
NO_ANSWER = "The articles do not seem to answer that."
SENTENCE_NOTE = "(answered by the sentence reader: no QA model is loaded)"
#: Said with what is found for a question that is clearly not in English (``retrieval.language``).
ENGLISH_ONLY = "Questions and articles are in English only, for now: please ask in English."
#: Said above a declined question's best candidates (``Result.unsure``).
UNSURE = "Not certain, but these come closest:"
#: Said with what is found when part of the collection could not be searched (``Result.missing``).
MISSING = "Part of the collection could not be searched just now ({}), so the answer may miss what it holds."


def plural(count: int, noun: str) -> str:
    """``1 chunk``, ``3 chunks``: the count and the noun, plural unless the count is one."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def articles_kept(count: int) -> str:
    """``the 1 article it brought stays``, ``the 4 articles it brought stay``: what unfollowing a feed keeps."""
    return f"the {plural(count, 'article')} it brought {'stays' if count == 1 else 'stay'}"


def _english_only(result: Result) -> list[str]:
    """``[ENGLISH_ONLY]`` when the question is clearly not in English, else nothing."""
    return [] if looks_english(result.question) else [ENGLISH_ONLY]


def _missing(result: Result) -> list[str]:
    """``MISSING`` with its reason when part of the collection could not be searched, else nothing."""
    return [MISSING.format(result.missing)] if result.missing else []


def result_as_json(result: Result) -> dict:
    """``{"question", "reader", "no_answer", "answers", "unsure", "notes"}`` for ``--json`` output.

    ``unsure``: with no answer, the best candidates, not certain (each as an answer is);
    ``notes``: ``language``, ``unsure`` and ``missing``, the notes shown to people, or None.
    """
    return {
        "question": result.question,
        "reader": result.reader,
        "no_answer": result.no_answer,
        "answers": [_answer_as_json(a) for a in result.answers],
        "unsure": [_answer_as_json(a) for a in _unsure(result)],
        "notes": {
            "language": next(iter(_english_only(result)), None),
            "unsure": UNSURE if _unsure(result) else None,
            "missing": next(iter(_missing(result)), None),
        },
    }


def _unsure(result: Result) -> tuple[Answer, ...]:
    """A declined question's best candidates (none when it was answered)."""
    return result.unsure if result.no_answer else ()


def _answer_as_json(a: Answer) -> dict:
    """One answer's ``ANSWER_KEYS`` and its ``link``; a PDF's page breaks shown as spaces (one
    character each, so ``start`` and ``end`` still point at the text)."""
    found = {key: citation_link(a) if key == "link" else getattr(a, key) for key in ANSWER_KEYS}
    for key in ("text", "context"):
        found[key] = found[key].replace(PAGE_BREAK, " ")
    return found


def citation_link(item: Answer | Passage) -> str | None:
    """Where a citation links to: an answer's sentence in its web page (a text fragment), a PDF's
    page (``#page=N``), or the article's web address; None when it has none Telegram can link."""
    url = _web_address(item.url)
    if url is None:
        return None
    if item.page is not None:
        link = page_link(url, item.page)
    elif isinstance(item, Answer):
        link = sentence_link(url, item.context)
    else:
        link = url
    return link if len(link) <= MAX_LINK_CHARS else url


def source_line(item: Answer | Passage) -> str:
    """``title, date, page, link`` of where an answer or passage comes from."""
    parts = [item.title]
    if item.published:
        parts.append(item.published)
    if item.page is not None:
        parts.append(f"page {item.page}")
    if item.url:
        parts.append(citation_link(item) or item.url)
    return ", ".join(parts) + f" [article {item.article_id}]"


def snippet(text: str, width: int = 200) -> str:
    """The text on one line, shortened at a word to at most ``width`` characters (ending " …")."""
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def _marked(a: Answer) -> str:
    """The answer's sentence on one line, the answer in [brackets] (alone when it is the sentence)."""
    start, end = _span_in_context(a)
    if start < 0:
        return f"[{_squash(a.text).strip()}] {_squash(a.context).strip()}"
    if a.context[start:end].strip() == a.context.strip():
        return _squash(a.context).strip()
    return f"{_squash(a.context[:start]).lstrip()}[{_squash(a.text)}]{_squash(a.context[end:]).rstrip()}"


def result_as_text(result: Result) -> str:
    """The answers as plain text: the answer, its sentence, its source; or, declined, the sentences
    that come closest (the likely answer in brackets), else the closest passages."""
    lines = []
    if result.no_answer:
        lines += [NO_ANSWER, *_english_only(result), *_missing(result)]
        if _unsure(result):
            lines.append(UNSURE)
            for a in _unsure(result):
                lines.append(f"  - “{_marked(a)}”")
                lines.append(f"    {source_line(a)}")
        elif result.passages:
            lines.append("Closest passages:")
            for p in result.passages[:3]:
                lines.append(f"  - {snippet(p.text)}")
                lines.append(f"    {source_line(p)}")
        return "\n".join(lines)
    for rank, a in enumerate(result.answers, 1):
        prefix = f"{rank}. " if len(result.answers) > 1 else ""
        lines.append(f"{prefix}{' '.join(a.text.split())}")
        if " ".join(a.context.split()) != " ".join(a.text.split()):
            lines.append(f"   “{' '.join(a.context.split())}”")
        lines.append(f"   — {source_line(a)}")
    if result.reader == "sentence":
        lines.append(SENTENCE_NOTE)
    lines += _english_only(result) + _missing(result)
    return "\n".join(lines)


# --- Telegram HTML -------------------------------------------------------------------------------

#: Longer web addresses are not linked (a link must fit in a message with room to spare).
MAX_LINK_CHARS = 1000
#: The most messages the passages of one answer (its Sources) are shown in.
MAX_SOURCE_MESSAGES = 3
#: Said under a passage that was cut short to fit.
SHORTENED = "(passage shortened: the whole text is in the article)"


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _web_address(url: str | None) -> str | None:
    """The URL if it is an http(s) address Telegram can link, else None."""
    try:
        scheme = urlsplit(url or "").scheme
    except ValueError:  # "http://[::1" and the like
        return None
    return url if scheme in ("http", "https") and len(url) <= MAX_LINK_CHARS else None


def _source_runs(item: Answer | Passage) -> list[Run]:
    """The title, linked when the article has a web address (an answer: to its sentence; a PDF: to
    its page), the date and the page."""
    runs = [Run(_squash(item.title).strip(), href=citation_link(item))]
    if item.published:
        runs.append(Run(f", {item.published}"))
    if item.page is not None:
        runs.append(Run(f", page {item.page}"))
    return runs


def _span_in_context(a: Answer) -> tuple[int, int]:
    """Where the answer stands in its sentence, ``(-1, -1)`` when it is not in it."""
    start, end = a.start - a.context_start, a.end - a.context_start
    if not (0 <= start <= end <= len(a.context) and a.context[start:end] == a.text):
        start = a.context.find(a.text)
        end = start + len(a.text)
    return (start, end) if start >= 0 else (-1, -1)


def _answer_runs(a: Answer) -> list[Run]:
    """The answer in bold inside its sentence, then its source."""
    start, end = _span_in_context(a)
    if start < 0:  # the answer is not in its context: show both
        runs = [Run(_squash(a.text).strip(), "b"), Run("\n" + _squash(a.context).strip())]
    else:
        runs = [
            Run(_squash(a.context[:start]).lstrip()),
            Run(_squash(a.text), "b"),
            Run(_squash(a.context[end:]).rstrip()),
        ]
    return [*runs, Run("\n— "), *_source_runs(a)]


def result_as_html(result: Result, *, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """The best answer as Telegram HTML messages (one, unless very long); or that there is none."""
    if result.no_answer:
        runs = [Run(NO_ANSWER), *(Run("\n" + note) for note in _english_only(result) + _missing(result))]
        if _unsure(result):
            runs += [Run("\n\n"), Run(UNSURE, "i")]
            for rank, a in enumerate(_unsure(result), 1):
                runs += [Run(f"\n{rank}. "), *_answer_runs(a)]
        if result.passages:
            runs.append(Run("\n\nThe passages read are under Sources."))
        return split_html(runs, limit)
    runs = _answer_runs(result.answers[0])
    if result.reader == "sentence":
        runs += [Run("\n\n"), Run(SENTENCE_NOTE, "i")]
    for note in _english_only(result) + _missing(result):
        runs += [Run("\n\n"), Run(note, "i")]
    return split_html(runs, limit)


def more_answers_as_html(result: Result, *, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """The answers after the best one, numbered from 2, as Telegram HTML messages."""
    runs: list[Run] = []
    for rank, a in enumerate(result.answers[1:], 2):
        runs += [Run("\n\n" if runs else ""), Run(f"{rank}. ", "b"), *_answer_runs(a)]
    return split_html(runs or [Run("There are no other answers.")], limit)


def _cut_short(text: str, chars: int) -> str:
    """The first ``chars`` characters of the text, cut after a word when one ends in their second half."""
    cut = text[:chars]
    space = cut.rfind(" ")
    return cut[:space] if space > chars // 2 else cut


def _passage_runs(passages: list[tuple[Passage, str]], chars: int) -> list[Run]:
    """Each passage numbered, with its source and its text, cut short to ``chars`` characters if longer."""
    runs: list[Run] = []
    for rank, (p, text) in enumerate(passages, 1):
        runs += [Run("\n\n" if runs else ""), Run(f"{rank}. ", "b"), *_source_runs(p)]
        if len(text) <= chars:
            runs.append(Run("\n" + text))
        else:
            runs += [Run("\n" + _cut_short(text, chars) + " …\n"), Run(SHORTENED, "i")]
    return runs or [Run("No passage matched the question.")]


def sources_as_html(
    result: Result, *, limit: int = MAX_MESSAGE_CHARS, max_messages: int = MAX_SOURCE_MESSAGES
) -> list[str]:
    """The passages the answers were read from, each with its source, in at most ``max_messages``
    Telegram HTML messages.

    When they do not fit, every passage longer than an equal share of the messages is cut to it (at a
    word, with " …" and a note), and the share shrinks until they fit (were even their sources too
    long for that, the last messages are left out).
    """
    passages = [(p, _squash(p.text).strip()) for p in result.passages]
    longest = max((len(text) for _, text in passages), default=0)
    chars = min(longest, max_messages * limit // max(len(passages), 1))
    while True:
        messages = split_html(_passage_runs(passages, chars), limit)
        if len(messages) <= max_messages or chars == 0:
            return messages[:max_messages]
        chars = chars * 3 // 4


# --- the collection, for the console and the bot's admin commands --------------------------------


def articles_table(articles) -> str:
    """``qabot list`` and the console's /list: a header, then a line an ``index.store.ArticleInfo``
    (id, publication date, date added, chunks, title and URL)."""
    lines = [f"{'id':>5}  {'published':<10}  {'added':<10}  {'chunks':>6}  title, url"]
    for a in articles:
        url = "  " + printable(a.url) if a.url else ""  # printable: stored by an older qabot, maybe raw
        published = a.published or ""  # unknown: left empty
        lines.append(f"{a.id:>5}  {published:<10}  {a.added_at[:10]:<10}  {a.chunks:>6}  {printable(a.title)}{url}")
    return "\n".join(lines)


def article_line(a, *, url: bool = True) -> str:
    """``id  title  (published date, n chunks)  url`` for one ``index.store.ArticleInfo``; the date
    it was added when it has no date of publication (``(added date, ...)``)."""
    when = f"published {a.published}" if a.published else f"added {a.added_at[:10]}"
    where = f"  {a.url}" if url and a.url else ""
    return f"{a.id:>5}  {a.title}  ({when}, {plural(a.chunks, 'chunk')}){where}"


def stats_as_text(stats: dict) -> str:
    """``Store.stats()`` in words: the collection, the questions asked and the latest unanswered."""
    asked, answered = stats["questions"], stats["answered"]
    share = f" ({answered / asked:.0%})" if asked else ""
    lines = [
        f"Articles: {stats['articles']}",
        f"Chunks: {stats['chunks']}",
        f"Questions asked: {asked}",
        f"Answered: {answered}{share}",
        f"Feedback: {stats['votes_up']} 👍, {stats['votes_down']} 👎",
    ]
    if stats["latest_unanswered"]:
        lines.append("Latest unanswered questions:")
        lines += [f"  - {snippet(q, 200)}" for q in stats["latest_unanswered"]]
    return "\n".join(lines)


def feed_as_text(feed) -> str:
    """One ``index.feeds.Feed``: its number, title and URL, its last check, its last error and note."""
    checked = f"checked {feed.checked_at[:16].replace('T', ' ')} UTC" if feed.checked_at else "not checked yet"
    counts = [plural(feed.articles, "article")]
    if feed.retrying:
        counts.append(f"{feed.retrying} {'entry' if feed.retrying == 1 else 'entries'} to retry")
    if feed.given_up:
        counts.append(f"{feed.given_up} given up")
    # printable: a feed's URL may come from a page's markup, and errors quote URLs
    lines = [f"{feed.id}. {feed.title or 'Untitled feed'}  {printable(feed.url)}", f"   {checked}; {', '.join(counts)}"]
    if feed.last_error:
        lines.append(f"   last error: {printable(feed.last_error)}")
    if feed.last_note:
        lines.append(f"   note: {printable(feed.last_note)}")
    return "\n".join(lines)


def feed_check_as_text(check) -> str:
    """What one pass did with one feed (``index.feeds.FeedCheck``), in one line."""
    done = f"{plural(len(check.added), 'article')} added, {check.skipped} already in the collection"
    if check.failed:
        done += f", {len(check.failed)} failed"
    line = f"feed {check.feed_id} ({check.title or printable(check.url)}): {done}"
    return line + (f"; error: {printable(check.error)}" if check.error else "")

