"""index/drafts.py: a draft made from text (its front matter read, nothing of it lost) and stored."""

import pytest

from qabot.index.drafts import IngestError, from_text, store_draft
from qabot.index.ingest import read_source
from tests.index.test_ingest import BODY, assert_nothing_stored, write


def test_title_url_and_date_can_be_overridden(store, tmp_path):
    path = write(tmp_path, "kettle.txt", "Old title\n" + BODY)
    article = store_draft(
        store,
        read_source(str(path)),
        title="New title",
        url="https://news.example/k",
        published="2024-05-06",
    )
    stored = store.get_article(article.id)
    assert (stored.title, stored.url, stored.published) == (
        "New title",
        "https://news.example/k",
        "2024-05-06",
    )


@pytest.mark.parametrize(
    "front, reason",
    [
        ("url: [1, 2]", "front matter's url: must be text or a date, not a list"),
        ("title: {a: 1}", "front matter's title: must be text or a date, not a dict"),
        ("published: yes", "front matter's published: must be text or a date, not true/false"),
        ("published: 2024-02-30", "cannot read '2024-02-30': day is out of range for month"),
        ("title: " + "[" * 1000 + "]" * 1000, "nested more than 50 levels deep"),
        ("site: " + "9" * 5000, "cannot read '9999"),
        ("title: a\x07b", "not valid YAML: unacceptable character #x0007: special characters are not allowed$"),
    ],
    ids=["url-list", "title-mapping", "published-bool", "published-bad-date", "deep", "huge-number", "control"],
)
def test_front_matter_values_that_cannot_be_read_are_refused_with_a_reason(store, front, reason):
    with pytest.raises(IngestError, match=reason):
        store_draft(store, from_text(f"---\n{front}\n---\n{BODY}"))
    assert_nothing_stored(store)


def test_front_matter_numbers_and_dates_are_taken_as_written(store):
    draft = from_text(f"---\ntitle: 1984\npublished: 2024-05-06T10:30:00\nsite: 2600\n---\n{BODY}")
    stored = store.get_article(store_draft(store, draft).id)
    assert (stored.title, stored.published, stored.site) == ("1984", "2024-05-06", "2600")


def test_a_lone_surrogate_is_refused_with_a_reason(store):
    with pytest.raises(IngestError, match=r"the title is not valid Unicode: '\\ud800' is a lone surrogate"):
        store_draft(store, from_text("Bad \ud800 title\n" + BODY))
    with pytest.raises(IngestError, match="the text is not valid Unicode"):
        store_draft(store, from_text("Title\n" + BODY + "\udfff"))
    assert_nothing_stored(store)
