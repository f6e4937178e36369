"""evaluation.squad: SQuAD v1.1/v2.0 files as a collection, asked SQuAD-open style."""

import json

import pytest

from qabot.evaluation.squad import MalformedSquad, evaluate_squad, load_collection, load_squad, sample
from qabot.retrieval.loading import sentence_reader
from tests.conftest import ROOT, SHARED

MINI = ROOT / "tests" / "fixtures" / "squad-mini.json"
SLICE = SHARED / "eval" / "squad2-dev-10.json"


def test_a_v2_file_is_read_with_its_unanswerable_questions():
    squad = load_squad(MINI)
    assert squad.version == "v2.0" and len(squad.paragraphs) == 3
    assert squad.paragraphs[0].title == "Harbour Lighthouse"
    first = squad.questions[0]
    assert first.question == "Who built the Saltmere lighthouse?" and first.paragraph == 0
    assert first.answers == ("Agnes Whitlow", "the engineer Agnes Whitlow")
    unanswerable = [q.id for q in squad.questions if not q.answers]
    assert unanswerable == ["q3", "q8"]  # plausible answers are not answers


def test_a_v1_file_has_only_answerable_questions(tmp_path):
    data = {
        "version": "1.1",
        "data": [{"title": "T", "paragraphs": [{"context": "Ada wrote it in 1843.", "qas": [
            {"id": "a", "question": "When?", "answers": [{"text": "1843", "answer_start": 16}] * 3}
        ]}]}],
    }
    (tmp_path / "v1.json").write_text(json.dumps(data))
    squad = load_squad(tmp_path / "v1.json")
    assert [(q.id, q.answers) for q in squad.questions] == [("a", ("1843",))]


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("[]", 'expected an object with a "data" list'),
        ('{"data": [{"title": "T"}]}', 'data[0]: expected an object with a "paragraphs" list'),
        ('{"data": [{"paragraphs": [{"qas": []}]}]}', 'data[0].paragraphs[0]: expected an object with a "context"'),
        ('{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x"}]}]}]}', "paragraphs[0].qas[0]: expected an object with a \"question\""),
        ('{"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": [{"start": 1}]}]}]}]}', 'qas[0]: "answers" must be'),
        ('{"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": []}]}]}]}', "qas[0]: no answers, and not marked is_impossible"),
        ('{"data": []}', "no paragraphs"),
    ],
)
def test_a_malformed_file_says_where(tmp_path, content, fault):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(MalformedSquad) as error:
        load_squad(tmp_path / "bad.json")
    assert fault in str(error.value)


def test_sampling_is_seeded_and_keeps_file_order():
    questions = list(range(100))
    picked = sample(questions, limit=10, seed=1)
    assert picked == sorted(picked) and len(picked) == 10
    assert picked == sample(questions, limit=10, seed=1) != sample(questions, limit=10, seed=2)
    assert sample(questions, limit=None) == questions == sample(questions, limit=500)


def test_the_paragraphs_become_the_collection_once_each(store):
    squad = load_squad(MINI)
    ids = load_collection(squad, store)
    assert len(set(ids)) == 3 and store.counts()["articles"] == 3
    assert store.get_article(ids[1]).text == squad.paragraphs[1].context
    assert store.get_article_info(ids[0]).title == "Harbour Lighthouse, paragraph 1"


def test_evaluation_reports_recall_reading_and_no_answers(store):
    squad = load_squad(MINI)
    ids = load_collection(squad, store)
    report = evaluate_squad(squad, store=store, reader=sentence_reader(use_encoder=False), article_ids=ids)
    assert report["questions"] == 8 and report["answerable"] == 6 and report["unanswerable"] == 2
    assert report["reader"] == "sentence" and report["encoder"] is False
    assert set(report["recall"]) == {"answer", "paragraph"}
    for recall in report["recall"].values():
        assert list(recall) == ["@1", "@5", "@10", "@20"]
        assert recall["@1"] <= recall["@5"] <= recall["@10"] <= recall["@20"] == 1.0
    assert report["recall"]["answer"]["@1"] >= 0.8
    assert report["sentence_accuracy"] >= 0.8  # 5 of 6: the paragraphs are two sentences each
    assert 0 <= report["exact_match"] <= report["f1"] <= 1
    assert report["no_answer_accuracy"] in (0.0, 0.5, 1.0)
    assert report["time_p95_s"] >= report["time_p50_s"] > 0


@pytest.mark.skipif(not SLICE.exists(), reason="the shared SQuAD slice (../shared) is not here")
def test_the_shared_slice_loads():
    squad = load_squad(SLICE)
    assert len(squad.paragraphs) == 370
    assert sum(1 for q in squad.questions if q.answers) == 1715
    assert sum(1 for q in squad.questions if not q.answers) == 1651
