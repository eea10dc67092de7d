"""Pretraining before the reversal curse (Nie et al., arXiv 2410.18514, Table 5 fine-tunes a *pretrained*
MDM on Berglund et al.'s facts): one byte-level BPE for a pretraining corpus and the facts' lines, an ARM
and an MDM of the same size pretrained on that corpus (``mdm.train_on_tokens``), fine-tuned on the facts
from those weights (``mdm.train_model(init=...)``) and scored as the from-scratch models are
(``reverse_curse.text_scores``). ``load_record`` reads what ``benchmarks/smdm_berglund_pretrained.py``
records."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from transformers import PreTrainedTokenizerFast

from lib.smdm import mdm as smdm
from lib.smdm import reverse_curse as rc

RECORD = Path("03_smdm") / "berglund_pretrained.json"   # under lib.book.paths.DATA


def shared_tokenizer(text: str, lines: list[str], vocab_size: int, *,
                     chunk_chars: int = 10_000) -> PreTrainedTokenizerFast:
    """One byte-level BPE of ``vocab_size`` entries trained on ``text`` (cut into chunks of ``chunk_chars``)
    and the fact ``lines`` together, so both corpora tokenise with the same ids."""
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be >= 1, got {chunk_chars}")
    from lib.core import tokenizer as tok
    chunks = [text[i:i + chunk_chars] for i in range(0, len(text), chunk_chars)]
    return tok.bpe_tokenizer(chunks + list(lines), vocab_size)


@torch.no_grad()
def continue_text(kind: str, model: torch.nn.Module, tokenizer: PreTrainedTokenizerFast, prompt: str,
                  n_tokens: int) -> str:
    """A greedy continuation of ``prompt`` by ``n_tokens`` tokens: the ARM left to right, the MDM (``[MASK]``
    = its last id) one token per step, most confident first. To check that a pretrained model writes
    the corpus's language."""
    if kind not in smdm.KINDS:
        raise ValueError(f"kind must be one of {smdm.KINDS}, got {kind!r}")
    ids = torch.tensor([tokenizer(prompt).input_ids], device=next(model.parameters()).device)
    if kind == "arm":
        out = model.generate(input_ids=ids, max_new_tokens=n_tokens, do_sample=False,
                             pad_token_id=tokenizer.eos_token_id)[0, ids.shape[1]:]
    else:
        out = smdm.generate(model, ids, n_tokens, model.config.vocab_size - 1, steps=n_tokens)[0]
    return tokenizer.decode(out.tolist())


def finetune_scores(facts: rc.TextFacts, init: dict[str, torch.nn.Module | None], *, seed: int,
                    arm_steps: int, mdm_steps: int, d_model: int, n_layers: int, n_heads: int,
                    batch_size: int, lr: float, cfg_scale: float,
                    kinds: tuple[str, ...] = smdm.KINDS) -> pd.DataFrame:
    """Train the ARM and the MDM (those in ``kinds``) on ``facts`` (from ``init[kind]``'s weights, or from
    scratch where it is None) and score them on the held-out queries, the MDM with and without guidance
    ``cfg_scale``.
    One row per model and query format: model (``ARM``, ``MDM``, ``MDM + CFG w``), format, accuracy
    (exact match), bleu (mean sentence BLEU), n_queries, final_loss (mean training loss of the last 50
    steps), and the first query's answer and generation."""
    if not kinds or set(kinds) - set(smdm.KINDS):
        raise ValueError(f"kinds must be a non-empty subset of {smdm.KINDS}, got {kinds!r}")
    rows = []
    for kind, steps in (("arm", arm_steps), ("mdm", mdm_steps)):
        if kind not in kinds:
            continue
        model, history = smdm.train_model(kind, facts, seed=seed, steps=steps, d_model=d_model, n_layers=n_layers,
                                          n_heads=n_heads, batch_size=batch_size, lr=lr, init=init.get(kind))
        for w in ((0.0,) if kind == "arm" else (0.0, cfg_scale)):
            scores = rc.text_scores(rc.text_predictor(kind, model, facts, cfg=w), facts)
            name = kind.upper() + (f" + CFG {w:g}" if w else "")
            for fmt, s in scores.groupby("format", sort=False):
                rows.append(dict(model=name, format=fmt, accuracy=float(s.found.mean()), bleu=float(s.bleu.mean()),
                                 n_queries=len(s), final_loss=float(history.loss.tail(50).mean()),
                                 answer=s.answer.iloc[0], generation=s.generation.iloc[0]))
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Record:
    """A recorded run of ``benchmarks/smdm_berglund_pretrained.py``: ``results`` one row per seed, start
    (``scratch`` or ``pretrained``), model and query format (accuracy, bleu, n_queries, final_loss);
    ``pretrain`` one row per seed and kind (val_loss in nats/token, sample text); ``settings`` and
    ``provenance`` (command, commit, date, wall time) as recorded."""
    results: pd.DataFrame
    pretrain: pd.DataFrame
    settings: dict
    provenance: dict


def load_record(path: Path | str | None = None) -> Record:
    """Read a recorded run (default: ``data/03_smdm/berglund_pretrained.json``)."""
    from lib.book import paths
    path = Path(path) if path is not None else paths.DATA / RECORD
    if not path.exists():
        raise FileNotFoundError(f"no recorded run at {path}: run benchmarks/smdm_berglund_pretrained.py")
    rec = json.loads(path.read_text())
    return Record(pd.DataFrame(rec["results"]), pd.DataFrame(rec["pretrain"]), rec["settings"],
                  rec["provenance"])
