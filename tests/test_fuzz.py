"""Bad input, generated: questions, article payloads and CLI arguments never crash or half-store.

Hypothesis draws well over 1,000 cases across the paths. Every case must end in an answer, a clear
refusal or a usage error: no exception escapes, no traceback is printed, nothing is half-stored.
"""

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qabot.bot.cli import cli
from qabot.index.drafts import store_draft
from qabot.index.ingest import HTML_SUFFIXES, TEXT_SUFFIXES, from_bytes
from qabot.index.store import ArticleRefused
from qabot.retrieval.answer import answer
from qabot.retrieval.loading import sentence_reader


def fuzz(examples: int):
    """Hypothesis settings for a fuzz test of ``examples`` cases (fixtures are reused across them)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )

nasty_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "",
            "   ",
            "the of and is was?",
            "<script>alert(1)</script> when did Putin visit?",
            "**bold** _x_ [link](javascript:alert(1)) `code`",
            "\x00\x01\x02 control \x1b[31m characters",
            "Когда Путин посетил Пхеньян?",
            "普京什么时候访问平壤？",
            "🚋🚋 tram? 🔥",
            "a" * 10_000,
            "Putin " * 2_000,
            "&amp; &lt; &#0; \ud7ff",
        ]
    ),
)


@pytest.fixture(scope="module")
def reader():
    return sentence_reader(use_encoder=False)


@pytest.mark.slow
@fuzz(350)
@given(question=nasty_text)
def test_any_question_gets_an_answer_or_a_clear_no(sample_store, reader, question):
    result = answer(question, store=sample_store, reader=reader)
    assert result.no_answer == (not result.answers)
    for a in result.answers:
        article = sample_store.get_article(a.article_id)
        assert article.text[a.start : a.end] == a.text
        assert article.text[a.context_start : a.context_start + len(a.context)] == a.context


payloads = st.one_of(
    st.binary(max_size=2_000),
    nasty_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"",
            b"Title only",
            b"\xff\xfe\x00binary\x00",
            "Caf\xe9 in latin-1\nbody".encode("latin-1"),
            b"<html><body><script>evil()</script><iframe src='x'></iframe></body></html>",
            b"<html><body>" + b"<div>" * 5_000 + b"deep" + b"</div>" * 5_000 + b"</body></html>",
            b"<html><head><title>No text</title></head><body><nav>Home</nav></body></html>",
            b"---\ntitle: [unclosed\n---\nbody",
            b"---\n- a list\n---\nTitle\nbody text",
        ]
    ),
)


@pytest.mark.slow
@fuzz(450)
@given(payload=payloads, suffix=st.sampled_from(sorted(TEXT_SUFFIXES | HTML_SUFFIXES)))
def test_any_uploaded_payload_is_stored_whole_or_refused(store, payload, suffix):
    before = store.counts()
    try:
        article = store_draft(store, from_bytes(payload, suffix), added_by="fuzz")
    except ArticleRefused as refusal:
        assert str(refusal) and "\n" not in str(refusal).strip()
        assert store.counts() == before
        return
    stored = store.get_article(article.id)
    chunks = store.chunks_of(article.id)
    assert chunks and all(stored.text[c.start : c.end] == c.text for c in chunks)
    store.remove_article(article.id)
    assert store.counts() == before


arguments = st.lists(
    st.one_of(
        st.sampled_from(
            ["add", "import", "list", "show", "remove", "search", "ask", "--json", "--k", "0", "-1",
             "999999", "--title", "--url", "--published", "2024-13-45", "-", "ftp://x", "file:///etc/passwd",
             "http://127.0.0.1:9/", "nonexistent.txt", "--db", "--help", "x" * 300]
        ),
        st.text(max_size=40),
    ),
    max_size=6,
)


@pytest.mark.slow
@fuzz(300)
@given(args=arguments)
def test_any_command_line_ends_in_a_result_or_a_clear_error(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)  # a generated "--db x" writes x here, not in the checkout
    runner = CliRunner()
    db = tmp_path / "fuzz.db"
    result = runner.invoke(cli, ["--db", str(db), *args], input="Title\nSome body text.\n",
                           env={"QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off"})
    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert "Traceback" not in result.output + (result.stderr or "")
    if "--json" in args and result.exit_code == 0 and result.stdout.strip().startswith(("{", "[")):
        json.loads(result.stdout)
