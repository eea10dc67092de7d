"""Berglund's facts after pretraining: from-scratch vs pretrained + fine-tuned ARM and MDM (chapter 03_smdm).

``notebooks/03_smdm/02_berglund.ipynb`` trains both models from scratch on a few hundred lines of
Berglund et al.'s facts, so they must learn English from those lines; the SMDM paper (Table 5) fine-tunes
an MDM pretrained on text. This script pretrains an ARM and an MDM of the same size on TinyStories
(lower-cased, the book's ``tinystories_train``), fine-tunes each on the facts (lower-cased to match) and
scores both, beside the same models trained from scratch on the same lines with the same tokenizer,
loop and steps. The notebook reads what it writes (``data/03_smdm/berglund_pretrained.json``) and
never runs it. Per seed: pretraining, fine-tuning and scoring all use that seed.

    OMP_NUM_THREADS=1 BOOK_DATA=../shared/data .venv/bin/python benchmarks/smdm_berglund_pretrained.py
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lib.book import data, paths  # noqa: E402
from lib.book.run import git_state  # noqa: E402
from lib.core import tokenizer as tok  # noqa: E402
from lib.smdm import mdm as smdm  # noqa: E402
from lib.smdm import pretrain  # noqa: E402
from lib.smdm import reverse_curse as rc  # noqa: E402

SAMPLE_PROMPT = "once upon a time, there was a little"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (pretraining, fine-tuning)")
    ap.add_argument("--n-facts", type=int, default=5, help="facts per group, 1..30 (notebook ci: 3)")
    ap.add_argument("--vocab-size", type=int, default=1024, help="shared byte-level BPE entries")
    ap.add_argument("--train-chars", type=int, default=4_200_000, help="TinyStories characters to pretrain on")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--n-layers", type=int, default=4)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=64, help="pretraining window (tokens)")
    ap.add_argument("--pretrain-batch", type=int, default=32, help="windows per pretraining step")
    ap.add_argument("--pretrain-lr", type=float, default=2e-3)
    ap.add_argument("--arm-pretrain-steps", type=int, default=800)
    ap.add_argument("--mdm-pretrain-steps", type=int, default=1000)
    ap.add_argument("--arm-steps", type=int, default=500, help="ARM steps on the facts (notebook: 600)")
    ap.add_argument("--mdm-steps", type=int, default=1200, help="MDM steps on the facts (notebook: 1500)")
    ap.add_argument("--batch-size", type=int, default=32, help="fact lines per step (notebook: 32)")
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate on the facts (notebook: 1e-3)")
    ap.add_argument("--cfg-scale", type=float, default=0.8, help="MDM guidance (notebook: 0.8)")
    ap.add_argument("--kinds", nargs="+", choices=["arm", "mdm"], default=["arm", "mdm"], help="models to run")
    ap.add_argument("--starts", nargs="+", choices=["pretrained", "scratch"], default=["pretrained", "scratch"],
                    help="pretrained then fine-tuned, and/or trained on the facts only")
    ap.add_argument("--out", type=Path, default=paths.DATA / pretrain.RECORD)
    args = ap.parse_args()
    if not 1 <= args.n_facts <= 30:
        ap.error(f"--n-facts must be in 1..30, got {args.n_facts}")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    start = time.time()

    text = data.text("tinystories_train", max_chars=args.train_chars)
    valid_text = data.text("tinystories_valid").lower()
    lines = rc.load_berglund(None, lowercase=True).lines           # all 30 facts per group: one tokenizer
    tokenizer = pretrain.shared_tokenizer(text[:1_000_000], lines, args.vocab_size)
    facts = rc.load_berglund(args.n_facts, tokenizer=tokenizer, lowercase=True)
    train_ids, valid_ids = tok.encode(tokenizer, text), tok.encode(tokenizer, valid_text)
    print(f"{len(train_ids):,} pretraining tokens, {len(facts.lines)} fact lines of {facts.train.shape[1]} "
          f"tokens, vocabulary {facts.vocab_size} (with [MASK])", flush=True)
    size = dict(d_model=args.d_model, n_layers=args.n_layers, n_heads=args.n_heads)
    finetune = dict(arm_steps=args.arm_steps, mdm_steps=args.mdm_steps, batch_size=args.batch_size, lr=args.lr,
                    cfg_scale=args.cfg_scale, kinds=tuple(args.kinds), **size)

    results, pretrained_rows = [], []
    for seed in args.seeds:
        init = {}
        for kind, steps in (("arm", args.arm_pretrain_steps), ("mdm", args.mdm_pretrain_steps)):
            if kind not in args.kinds or "pretrained" not in args.starts:
                continue
            t0 = time.time()
            init[kind] = smdm.train_on_tokens(kind, train_ids, facts.vocab_size, steps=steps, seq_len=args.seq_len,
                                              batch_size=args.pretrain_batch, lr=args.pretrain_lr, seed=seed, **size)
            val = smdm.heldout_loss(kind, init[kind], valid_ids, seq_len=args.seq_len, n_mc=4, seed=seed,
                                    max_tokens=32_768)
            sample = pretrain.continue_text(kind, init[kind], tokenizer, SAMPLE_PROMPT, 32)
            pretrained_rows.append(dict(seed=seed, kind=kind, steps=steps, val_loss=val, sample=sample,
                                        seconds=time.time() - t0))
            print(f"seed {seed} {kind} pretrained {steps} steps: held-out loss {val:.3f} nats/token "
                  f"({time.time() - t0:.0f} s)\n  {SAMPLE_PROMPT!r} -> {sample!r}", flush=True)
        for start_from, models in (("pretrained", init), ("scratch", {})):
            if start_from not in args.starts:
                continue
            t0 = time.time()
            scores = pretrain.finetune_scores(facts, models, seed=seed, **finetune)
            results += scores.assign(seed=seed, start=start_from).to_dict("records")
            table = scores.pivot_table(index="format", columns="model", values="accuracy", sort=False)
            print(f"seed {seed}, {start_from} ({time.time() - t0:.0f} s):\n{table.round(3)}", flush=True)
            write(args, facts, len(train_ids), start, pretrained_rows, results)


def write(args: argparse.Namespace, facts: rc.TextFacts, pretrain_tokens: int, start: float,
          pretrained_rows: list[dict], results: list[dict]) -> None:
    """Write the record so far (after every phase, so an interrupted run keeps what it finished)."""
    git = git_state()
    record = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"}
        | {"n_lines": len(facts.lines), "fact_tokens": facts.train.shape[1], "pretrain_tokens": pretrain_tokens,
           "sample_prompt": SAMPLE_PROMPT, "lowercase": True},
        "provenance": {"command": "OMP_NUM_THREADS=1 python " + shlex.join(sys.argv), "commit": git["commit"],
                       "uncommitted_changes": git["dirty"], "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                       "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "wall_s": round(time.time() - start, 1)},
        "pretrain": pretrained_rows,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out} ({record['provenance']['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
