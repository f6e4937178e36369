"""index/consistency.py: verify finds a sound collection sound and names each kind of damage."""

import numpy as np

from qabot.index.bm25 import POSTING
from tests.index.test_store import HOARD, TRAM


def test_verify_finds_a_sound_collection_sound(store):
    store.add_article(title="Tram", text=TRAM)
    store.add_article(title="Coins", text=HOARD)
    assert store.verify() == []


def test_verify_names_each_kind_of_damage(store):
    store.add_article(title="Tram", text=TRAM)
    phantom = np.array([(999, 1, 2)], dtype=POSTING).tobytes()
    store.db.execute(
        "INSERT INTO postings (term, level, first, last, n, data) VALUES ('phantom', 0, 999, 999, 1, ?)",
        [phantom],
    )
    store.db.execute("UPDATE term_stats SET df = df + 3 WHERE term = 'tram'")
    store.db.execute(
        "INSERT INTO articles (title, text, content_hash, added_at) VALUES ('Bare', 'x', 'h', 'now')"
    )
    problems = " | ".join(store.verify())
    assert "chunks that do not exist" in problems
    assert "document frequency" in problems
    assert "without chunks" in problems
