"""bot/html_messages.py: runs rendered as Telegram HTML, escaped, and split under the limit at the best cuts."""

import re

from qabot.bot.html_messages import MAX_MESSAGE_CHARS, Run, split_html, text_as_html
from tests.bot.conftest import Rendered


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_long_text_is_split_at_paragraphs_then_sentences_then_words():
    sentence = "The zephyr gauge recorded a breeze of ten kilometres an hour & more. "
    paragraphs = [sentence * 20, sentence * 30, sentence * 80]
    messages = text_as_html("\n\n".join(p.strip() for p in paragraphs))
    assert all(utf16(m) <= MAX_MESSAGE_CHARS for m in messages)
    texts = [Rendered(m).text for m in messages]
    assert texts[0] == paragraphs[0].strip() + "\n\n" + paragraphs[1].strip()  # whole paragraphs first
    assert all(t.endswith("& more.") for t in texts)  # then whole sentences
    assert " ".join(texts).split() == "\n\n".join(paragraphs).split()


def test_bold_and_links_are_closed_in_every_part_and_nothing_is_lost():
    runs = [Run("Before. "), Run("word " * 2000, "b"), Run("link", href="https://x.example/?q=<>"), Run(" After.")]
    messages = split_html(runs, limit=1000)
    assert len(messages) > 10 and all(utf16(m) <= 1000 for m in messages)
    shown = [Rendered(m) for m in messages]  # each parses alone: tags are balanced
    assert all(s.bold for s in shown[1:-1])
    assert " ".join(s.text for s in shown).split() == "".join(r.text for r in runs).split()


def test_a_word_longer_than_a_message_and_astral_characters_are_cut_within_the_limit():
    messages = split_html([Run("😀" * 3000 + "&" * 3000, "b")])
    assert len(messages) >= 3 and all(utf16(m) <= MAX_MESSAGE_CHARS for m in messages)
    assert "".join(Rendered(m).text for m in messages) == "😀" * 3000 + "&" * 3000
    assert not any(re.search(r"&(?!amp;)", m.replace("&amp;", "")) for m in messages)
