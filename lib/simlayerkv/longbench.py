"""The ``gpu`` profile: SimLayerKV on a hub model over LongBench tasks through the same library path
(``lib.core.kv_cache.generate_with_policy``). LongBench's prompt templates and answer lengths come from
the registered files; the samples (``THUDM/LongBench`` on the hub) and the model need the network or a
local hub cache, so only the prompt/metric helpers are exercised on CPU."""
from __future__ import annotations

import json
import re
import string
from collections import Counter

import numpy as np

from lib.book import data
from lib.core import kv_cache as K

QA_TASKS = ("qasper", "hotpotqa", "2wikimqa", "multifieldqa_en", "narrativeqa", "musique")


def templates() -> tuple[dict[str, str], dict[str, int]]:
    """LongBench's ``dataset2prompt`` and ``dataset2maxlen``."""
    return (json.loads(data.get("longbench_dataset2prompt").read_text()),
            json.loads(data.get("longbench_dataset2maxlen").read_text()))


def normalize_answer(s: str) -> str:
    """LongBench's (SQuAD's) normalisation: lower case, no punctuation, articles or extra spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def qa_f1(prediction: str, ground_truth: str) -> float:
    """LongBench's ``qa_f1_score``: token F1 after ``normalize_answer``."""
    p, g = normalize_answer(prediction).split(), normalize_answer(ground_truth).split()
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def truncate_middle(ids: list[int], max_len: int) -> list[int]:
    """LongBench's truncation: keep the first and the last max_len/2 tokens."""
    if len(ids) <= max_len:
        return ids
    half = max_len // 2
    return ids[:half] + ids[-half:]


def run_longbench(model_name: str, tasks, *, n_examples: int, delta: float, n_init: int, n_recent: int,
                  w_last: int, variant: str, max_prompt: int, policies=("full", "streaming", "simlayerkv")):
    """Score each policy on ``n_examples`` of each LongBench QA task (mean F1 × 100) and its KV kept.
    Needs a GPU, the model and ``THUDM/LongBench`` from the hub."""
    import datasets as hf_datasets
    import torch
    from transformers import AutoTokenizer

    from lib.core.models import from_pretrained
    bad = [t for t in tasks if t not in QA_TASKS]
    if bad:
        raise ValueError(f"tasks {bad} are not LongBench QA tasks with the F1 metric; allowed: {QA_TASKS}")
    tok = AutoTokenizer.from_pretrained(model_name)
    model = from_pretrained(model_name, dtype=torch.bfloat16, attn_implementation=K.KERNEL, device_map="cuda").eval()
    prompts, maxlen = templates()
    make = {"full": K.LayerPolicy.full, "streaming": K.LayerPolicy.streaming,
            "simlayerkv": lambda: K.LayerPolicy.simlayerkv(delta)}
    rows = []
    for task in tasks:
        ds = hf_datasets.load_dataset("THUDM/LongBench", task, split="test").select(range(n_examples))
        for name in policies:
            f1, kept = [], []
            for ex in ds:
                text = prompts[task].format(**ex)
                ids = truncate_middle(tok(text, add_special_tokens=False).input_ids, max_prompt)
                chat = tok.apply_chat_template([{"role": "user", "content": tok.decode(ids)}],
                                               add_generation_prompt=True, return_tensors="pt")
                chat = getattr(chat, "input_ids", chat)
                g = K.generate_with_policy(model, chat.to(model.device), make[name](), n_init=n_init,
                                           n_recent=n_recent, w_last=w_last, variant=variant,
                                           max_new_tokens=maxlen[task], eos_token_id=tok.eos_token_id)
                pred = tok.decode(g.tokens, skip_special_tokens=True)
                f1.append(max(qa_f1(pred, a) for a in ex["answers"]))
                kept.append(g.kv_kept)
            rows.append({"task": task, "method": name, "score": 100 * float(np.mean(f1)),
                         "kv_kept": float(np.mean(kept))})
    return rows
