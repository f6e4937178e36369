"""Reader profiles: the calibration that belongs to one QA model, kept beside its weights.

A profile holds the span reader's no-answer rule (threshold and evidence weights) and BM25 fusion weight, what they were tuned
on and the numbers measured there (``qabot tune``, ``evaluation.tuning``). It names the weights it
was tuned for by their SHA-256, so a threshold tuned on one model is never applied to another: a
profile whose weights differ is ignored, with a warning.

Where it lives: ``qabot_profile.json`` in a local model folder (the builtin reader ships one); for a
hub model, ``$XDG_DATA_HOME/qabot/profiles/<owner>__<name>.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROFILE_FILE = "qabot_profile.json"
#: The weights files a profile is bound to, the first found.
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class ReaderProfile:
    """How a QA model's answers are ranked and when it says "no answer".

    :param no_answer_threshold: the confidence the best span must reach: how far its logits beat the
        null logit, plus the two weighted kinds of evidence (``retrieval.reader``).
    :param fusion_weight: weight of the passage's BM25 score added to a span's logits.
    :param weights_sha256: the weights it was tuned for.
    :param tuned_on: what it was chosen on, in words (file, questions, how).
    :param measured: the numbers measured when it was chosen (held-out half included).
    :param no_answer_bm25_weight: weight of the passage's BM25 score in the confidence.
    :param no_answer_lead_weight: weight of the top answer's lead over the next one in it.
    :param kind_weight: weight of a span's kind agreement with the question in its ranking.
    :param sentence_weight: weight of the share of the question its sentence covers in its ranking.
    :param no_answer_agreement_weight: weight of that agreement in the confidence.
    :param no_answer_coverage_weight: weight of the share of the question its sentence covers in it.
    """

    no_answer_threshold: float
    fusion_weight: float
    weights_sha256: str
    tuned_on: str = ""
    measured: dict = dataclasses.field(default_factory=dict)
    no_answer_bm25_weight: float = 0.0
    no_answer_lead_weight: float = 0.0
    kind_weight: float = 0.0
    sentence_weight: float = 0.0
    no_answer_agreement_weight: float = 0.0
    no_answer_coverage_weight: float = 0.0


def profile_path(model: str) -> Path:
    """Where the profile of ``model`` (a local folder or a hub id) is kept."""
    folder = Path(os.path.expanduser(model))
    if folder.is_dir():
        return folder / PROFILE_FILE
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "qabot" / "profiles" / (model.replace("/", "__") + ".json")


def weights_digest(folder: str | Path) -> str | None:
    """SHA-256 of the model's weights file in ``folder`` (None when it has none)."""
    for name in WEIGHTS_FILES:
        path = Path(folder) / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as weights:
                for block in iter(lambda: weights.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    return None


def load_profile(model: str, weights_folder: str | Path) -> ReaderProfile | None:
    """The profile of ``model`` if one is kept and was tuned for the weights in ``weights_folder``.

    A missing profile is None; a damaged one or one tuned for other weights is None, logged.
    """
    path = profile_path(model)
    if not path.is_file():
        return None
    try:
        profile = ReaderProfile(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        log.warning("ignoring the reader profile %s: it cannot be read (%s)", path, error)
        return None
    if profile.weights_sha256 != weights_digest(weights_folder):
        log.warning("ignoring the reader profile %s: it was tuned for other weights", path)
        return None
    return profile


def save_profile(model: str, profile: ReaderProfile) -> Path:
    """Write the profile of ``model`` where :func:`load_profile` finds it; its path."""
    path = profile_path(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(profile), indent=2) + "\n", encoding="utf-8")
    return path
