"""The BM25 index: equal to rank-bm25's BM25Okapi on the same terms, incremental and persistent."""

import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from rank_bm25 import BM25Okapi

from qabot.index import bm25
from qabot.index.analysis import question_terms
from qabot.index.bm25 import EmptyIndex
from qabot.index.store import Store

TOPIC = "kremlin"  # put in ~70% of the chunks: its idf is negative


def _sentence(rng: random.Random, vocab: list[str]) -> str:
    words = [rng.choice(vocab[: rng.choice([30, 300, len(vocab)])]) for _ in range(rng.randint(6, 20))]
    if rng.random() < 0.3:
        words.insert(rng.randint(0, len(words)), TOPIC)
    if rng.random() < 0.1:
        words.append(str(rng.randint(1990, 2030)))
    return " ".join(words).capitalize() + "."


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A store of about 3,000 chunks and the peer built on exactly the same terms."""
    rng = random.Random(7)
    vocab = sorted({"".join(rng.choices("abcdefghijklmnoprstuvwy", k=rng.randint(3, 9))) for _ in range(4000)})
    store = Store(tmp_path_factory.mktemp("bm25") / "corpus.db")
    for i in range(640):
        paragraphs = ["  ".join(_sentence(rng, vocab) for _ in range(5)) for _ in range(8)]
        store.add_article(title=f"Article {i}", text="\n".join(paragraphs))
    rows = store.db.execute("SELECT id, terms FROM chunks ORDER BY id").fetchall()
    ids = [chunk_id for chunk_id, _ in rows]
    peer = BM25Okapi([stored.split() for _, stored in rows], k1=bm25.K1, b=bm25.B)
    queries = [[TOPIC], [TOPIC, vocab[5]], ["2001", vocab[100]], ["absentword", vocab[2000]]]
    for _ in range(60):
        queries.append(rng.sample(vocab[:40] if rng.random() < 0.3 else vocab, rng.randint(1, 5)))
        if rng.random() < 0.3:
            queries[-1].append(TOPIC)
    yield store, peer, ids, queries
    store.close()


def _peer_ranking(peer: BM25Okapi, ids: list[int], query: list[str]) -> list[tuple[int, float]]:
    scores = peer.get_scores(query)
    order = sorted(range(len(ids)), key=lambda i: (-round(scores[i], 9), ids[i]))
    return [(ids[i], float(scores[i])) for i in order if scores[i] > 0]


@pytest.mark.slow
def test_corpus_has_the_cases_that_matter(corpus):
    store, peer, ids, _ = corpus
    n = len(ids)
    assert n >= 2500
    assert store.index.document_frequencies([TOPIC])[TOPIC] > n / 2  # negative idf
    assert peer.idf[TOPIC] == pytest.approx(bm25.EPSILON * peer.average_idf)
    # chunks in blocks and chunks still pending (read from their rows) are both compared
    pending = store.db.execute("SELECT count(*) FROM pending_chunks").fetchone()[0]
    assert 0 < pending < n and store.db.execute("SELECT count(*) FROM postings").fetchone()[0]


@pytest.mark.slow
def test_scores_equal_bm25okapi_for_every_matching_chunk(corpus):
    store, peer, ids, queries = corpus
    for query in queries:
        theirs = _peer_ranking(peer, ids, query)
        ours = store.search_chunks(query, len(ids))
        assert len(ours) == len(theirs), query
        their_scores = dict(theirs)
        for chunk_id, score in ours:
            assert score == pytest.approx(their_scores[chunk_id], abs=1e-6), (query, chunk_id)


@pytest.mark.slow
def test_top10_order_agrees_with_bm25okapi(corpus):
    store, peer, ids, queries = corpus
    for query in queries:
        ours = sorted(store.search_chunks(query, 10), key=lambda hit: (-round(hit[1], 9), hit[0]))
        theirs = _peer_ranking(peer, ids, query)[:10]
        assert [chunk_id for chunk_id, _ in ours] == [chunk_id for chunk_id, _ in theirs], query


@pytest.mark.slow
def test_each_term_keeps_few_blocks_however_many_articles_hold_it(corpus):
    store, _, ids, _ = corpus
    per_level = store.db.execute(
        "SELECT term, level, count(*) FROM postings GROUP BY term, level"
    ).fetchall()
    assert max(count for _, _, count in per_level) < bm25.FANOUT
    topic_blocks = sum(count for term, _, count in per_level if term == TOPIC)
    assert topic_blocks < 2 * bm25.FANOUT  # in ~2,000 chunks of 640 articles
    assert store.index.document_frequencies([TOPIC])[TOPIC] > len(ids) / 2


def test_scores_stay_exact_after_removing_articles_from_merged_blocks(tmp_path):
    rng = random.Random(11)
    vocab = sorted({"".join(rng.choices("abcdefghijklmnoprstuvwy", k=rng.randint(3, 8))) for _ in range(300)})
    with Store(tmp_path / "removals.db") as store:
        articles = [
            store.add_article(title=f"A{i}", text="  ".join(_sentence(rng, vocab) for _ in range(6)))
            for i in range(120)
        ]
        for article in articles[::3]:
            store.remove_article(article.id)
        assert store.verify() == []
        rows = store.db.execute("SELECT id, terms FROM chunks ORDER BY id").fetchall()
        ids = [chunk_id for chunk_id, _ in rows]
        peer = BM25Okapi([stored.split() for _, stored in rows], k1=bm25.K1, b=bm25.B)
        for query in [[TOPIC], vocab[:3], vocab[100:104] + [TOPIC], [vocab[7]]]:
            theirs = _peer_ranking(peer, ids, query)
            ours = store.search_chunks(query, len(ids))
            assert [c for c, _ in ours] == [c for c, _ in theirs], query
            assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], abs=1e-6)


def test_new_chunks_score_the_same_before_and_after_their_postings_are_written(store):
    texts = ["The tram reached the harbour at dawn.", "A tram and a bus met at the harbour.",
             "Buses only, no trams, in the old town.", "The harbour froze in 1963."]
    for text in texts:
        store.add_article(title=text[:12], text=text)
    queries = [["tram"], ["harbour", "bus"], ["1963", "town", "tram"]]
    pending = [store.search_chunks(q, 10) for q in queries]
    assert store.db.execute("SELECT count(*) FROM pending_chunks").fetchone()[0] == 4
    with store.db.atomic():
        store.index.flush()
    assert store.db.execute("SELECT count(*) FROM pending_chunks").fetchone()[0] == 0
    assert [store.search_chunks(q, 10) for q in queries] == pending
    assert store.verify() == []


def test_a_term_in_most_chunks_still_counts(corpus):
    store, _, _, _ = corpus
    hits = store.search_chunks([TOPIC], 5)
    assert hits and all(score > 0.1 for _, score in hits)
    # a chunk with the frequent term beats an otherwise equal chunk without it
    word = "zzqx"
    with_topic = store.add_article(title="with", text=f"The {word} met the {TOPIC} envoy.")
    without = store.add_article(title="without", text=f"The {word} met the city envoy.")
    ranked = [chunk for chunk, _ in store.search_chunks([word, TOPIC], 2)]
    chunks = {a.id: store.chunks_of(a.id)[0].id for a in (with_topic, without)}
    assert ranked == [chunks[with_topic.id], chunks[without.id]]
    store.remove_article(with_topic.id)
    store.remove_article(without.id)


def test_numbers_and_years_are_searchable(store):
    store.add_article(title="Visit", text="Putin's only previous visit to Pyongyang was in July 2000.")
    store.add_article(title="Other", text="Kim met him some 270 days after their meeting.")
    assert len(store.search_chunks(question_terms("What happened in 2000?"), 5)) == 1
    assert len(store.search_chunks(question_terms("270 days"), 5)) == 1


def test_added_articles_are_found_at_once_and_removed_ones_never(store):
    store.add_article(title="Filler", text="Nothing to see in this filler text about weather.")
    article = store.add_article(title="Tram", text="Aldermoor opened a tram line on Saturday.")
    assert store.search_chunks(["aldermoor"], 5)
    store.remove_article(article.id)
    assert store.search_chunks(["aldermoor"], 5) == []
    assert store.index.stats() == (1, len(store.db.execute("SELECT terms FROM chunks").fetchone()[0].split()))


def test_the_index_survives_a_restart(db_path):
    with Store(db_path) as store:
        store.add_article(title="A", text="The probe launched toward the asteroid Veranna.")
        store.add_article(title="B", text="The bank held its rate at four percent.")
        before = store.search_chunks(["asteroid", "rate"], 5)
    with Store(db_path) as reopened:
        assert reopened.search_chunks(["asteroid", "rate"], 5) == before


def test_an_empty_collection_says_so(store):
    with pytest.raises(EmptyIndex):
        store.search_chunks(["anything"], 5)


def test_unknown_words_find_nothing(store):
    store.add_article(title="A", text="Some text about trams.")
    assert store.search_chunks(["unknownword"], 5) == []
    assert store.search_chunks([], 5) == []
    with pytest.raises(ValueError):
        store.search_chunks(["trams"], 0)


def test_repeated_query_terms_count_once(store):
    store.add_article(title="A", text="Trams and buses.")
    store.add_article(title="B", text="Trams only, trams again.")
    assert store.search_chunks(["tram", "tram"], 5) == store.search_chunks(["tram"], 5)


def test_exactly_half_is_the_one_difference_from_rank_bm25(store):
    """idf is 0 for a term in exactly half the chunks: rank-bm25 keeps 0, we give it the floor."""
    for text in ("alpha beta", "alpha gamma", "delta epsilon", "zeta eta"):
        store.add_article(title=text, text=text)
    hits = store.search_chunks(["alpha"], 5)
    assert len(hits) == 2 and all(score > 0 for _, score in hits)
    peer = BM25Okapi([["alpha", "beta"], ["alpha", "gamma"], ["delta", "epsilon"], ["zeta", "eta"]])
    assert not np.any(peer.get_scores(["alpha"]))


def test_removing_from_a_block_merged_across_a_batch_written_a_level_up(store):
    """Blocks of one level could interleave (a batch wrote a term straight to level 2): a merge
    left an unsorted block with wrong bounds, removal missed its chunk, and the next article took
    the removed chunk's id and was found for a word it does not hold."""
    assert bm25.PENDING_CHUNKS == 64
    serial = iter(range(10_000))

    def batch(alpha: list[bool]) -> list:
        return [
            store.add_article(
                title="one chunk", text=f"{'Alpha' if has else 'Omega'} note number w{next(serial)}."
            )
            for has in alpha
        ]

    batch([True] * 10 + [False] * 54)
    for _ in range(7):
        batch([True] * 64)
    for _ in range(6):
        batch([True] * 10 + [False] * 54)
    last = batch([False] * 54 + [True] * 10)
    store.remove_article(last[-1].id)
    assert store.verify() == []
    unrelated = store.add_article(title="Other", text="Nothing here but beta and gamma words.")
    found = {store.chunks_by_id([c])[c].article_id for c, _ in store.search_chunks(["alpha"], 10_000)}
    assert unrelated.id not in found and last[-1].id not in found
    assert len(found) == 10 + 7 * 64 + 6 * 10 + 9


def test_the_floor_of_a_rolled_back_add_is_not_kept_for_the_next_add(store):
    """A rolled-back add gives its chunk ids out again, so the next add can bring the chunks back to
    the same N and last id with other terms: the floor cached inside the rolled-back one must go."""
    store.add_article(title="Base", text="Tram tram port.")
    store.add_article(title="Other", text="Tram coin.")
    with pytest.raises(RuntimeError), store.transaction():
        store.add_article(title="Gone", text="Tram river.")
        assert store.search_chunks(["tram"], 10)  # every chunk holds it: the floor is computed
        raise RuntimeError("rolled back")
    store.add_article(title="Kept", text="Vote bridge summit hoard.")
    rows = store.db.execute("SELECT id, terms FROM chunks ORDER BY id").fetchall()
    assert dict(store.search_chunks(["tram"], 10)) == pytest.approx(_brute_force(rows, [["tram"]])[0], abs=1e-9)


def _brute_force(rows: list[tuple[int, str]], queries: list[list[str]]) -> list[dict[int, float]]:
    """BM25Okapi over the chunks as they are, with the floor for every idf <= 0 (see bm25.py): the
    scores of each query's chunks."""
    peer = BM25Okapi([stored.split() for _, stored in rows], k1=bm25.K1, b=bm25.B)
    for term, value in peer.idf.items():
        if value <= 0:
            peer.idf[term] = bm25.EPSILON * peer.average_idf
    words = [set(stored.split()) for _, stored in rows]
    scored = []
    for query in queries:
        scores = peer.get_scores(list(dict.fromkeys(query)))
        scored.append({rows[i][0]: float(scores[i]) for i in range(len(rows)) if words[i] & set(query)})
    return scored


class ChurnMachine(RuleBasedStateMachine):
    """Random adds, removes and replacements (an article swapped for another of as many chunks, so
    N stays the same), with batches and merges small enough to reach every level; after each step
    every query scores exactly as a brute-force BM25Okapi over the current chunks, both through the
    store that made the changes and through a second one open on the same file all along (another
    process: the bot while the CLI adds articles). Neither may keep a stale floor for frequent terms."""

    VOCABULARY = ["tram", "port", "coin", "hoard", "visit", "summit", "river", "bridge", "vote"]

    def __init__(self):
        super().__init__()
        self.patches = pytest.MonkeyPatch()
        self.patches.setattr(bm25, "FANOUT", 2)
        self.patches.setattr(bm25, "PENDING_CHUNKS", 3)
        self.folder = tempfile.mkdtemp(prefix="qabot-churn-")
        self.store = Store(Path(self.folder) / "churn.db")
        self.reader = Store(Path(self.folder) / "churn.db")
        self.articles: dict[int, tuple[int, int]] = {}  # id: (words, paragraphs)
        self.serial = 0

    def _add(self, words: list[str], paragraphs: int) -> None:
        self.serial += 1
        sentence = " ".join(words).capitalize() + f" n{self.serial}."
        text = "\n\n".join([sentence + " " + " ".join([sentence] * 60)] * paragraphs) if paragraphs > 1 else sentence
        self.articles[self.store.add_article(title=f"A{self.serial}", text=text).id] = (len(words), paragraphs)

    @rule(words=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=12), paragraphs=st.integers(1, 3))
    def add(self, words, paragraphs):
        self._add(words, paragraphs)

    @precondition(lambda self: self.articles)
    @rule(data=st.data())
    def remove(self, data):
        article = data.draw(st.sampled_from(sorted(self.articles)))
        del self.articles[article]
        self.store.remove_article(article)

    @precondition(lambda self: self.articles)
    @rule(data=st.data())
    def replace(self, data):
        article = data.draw(st.sampled_from(sorted(self.articles)))
        size, paragraphs = self.articles.pop(article)
        words = data.draw(st.lists(st.sampled_from(self.VOCABULARY), min_size=size, max_size=size))
        chunks = self.store.index.stats()[0]
        self.store.remove_article(article)
        self._add(words, paragraphs)
        assert self.store.index.stats()[0] == chunks

    @invariant()
    def scores_equal_brute_force(self):
        rows = self.store.db.execute("SELECT id, terms FROM chunks ORDER BY id").fetchall()
        if not rows:
            return
        queries = [[w] for w in self.VOCABULARY] + [["tram", "coin", "vote"], ["n1", "river"]]
        for query, theirs in zip(queries, _brute_force(rows, queries)):
            for store in (self.store, self.reader):
                ours = dict(store.search_chunks(query, len(rows)))
                assert ours.keys() == theirs.keys(), query
                for chunk_id, score in ours.items():
                    assert score == pytest.approx(theirs[chunk_id], abs=1e-6), (query, chunk_id)

    @invariant()
    def sound(self):
        assert self.store.verify() == []

    def teardown(self):
        self.store.close()
        self.reader.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.patches.undo()


ChurnMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_churn_keeps_scores_exact = pytest.mark.slow(ChurnMachine.TestCase)
