"""The reversal curse (Berglund et al., arXiv 2309.12288): fictitious facts "name is description" seen
in one order only, queried in both; in a procedural word-level form (``make_facts``) and as Berglund's
own text files (``load_berglund``), trained and scored through the same functions.

Layout as in Berglund's data: facts seen only name-first (p2d), only description-first (d2p), and in
both orders (these teach the format). Queries are labelled by *query format*, as the SMDM paper's
Table 5 does: "DescriptionToName reverse" asks D→N about p2d facts, "NameToDescription reverse" asks
N→D about d2p facts."""
from __future__ import annotations

import json
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch
from transformers import PreTrainedTokenizerFast

from lib.smdm.mdm import MASK, WordCorpus
from lib.smdm.paper import PAPER

QUERY_FORMATS = ("DescriptionToName same", "DescriptionToName reverse",
                 "NameToDescription same", "NameToDescription reverse")
BOS = "[BOS]"


@dataclass(frozen=True)
class FactSet(WordCorpus):
    """Word-level facts. ``train`` is (N, 7): [BOS] + 6 words, e.g. ``fn3 ln7 is adj1 noun9 .``;
    ``queries[format]`` holds (prompt (Q, 4) = [BOS] + 3 words, answer (Q, 2)) tensors."""
    queries: dict[str, tuple[torch.Tensor, torch.Tensor]]


def make_facts(seed: int, *, n_p2d: int = 30, n_d2p: int = 30, n_both: int = 60,
               n_first: int = 60, n_last: int = 60, n_adj: int = 40, n_noun: int = 40) -> FactSet:
    """Distinct fictitious (first last, adjective noun) facts, split into p2d / d2p / both groups."""
    n = n_p2d + n_d2p + n_both
    if min(n_p2d, n_d2p, n_both) < 1 or n > min(n_first * n_last, n_adj * n_noun):
        raise ValueError(f"need >= 1 fact per group and at most {min(n_first * n_last, n_adj * n_noun)} "
                         f"facts in all, got n_p2d={n_p2d}, n_d2p={n_d2p}, n_both={n_both}")
    words = ([BOS, MASK, "is", "."] + [f"fn{i}" for i in range(n_first)] + [f"ln{i}" for i in range(n_last)]
             + [f"adj{i}" for i in range(n_adj)] + [f"noun{i}" for i in range(n_noun)])
    ids = {w: i for i, w in enumerate(words)}
    rng = random.Random(seed)
    names = rng.sample([(f"fn{a}", f"ln{b}") for a in range(n_first) for b in range(n_last)], n)
    descs = rng.sample([(f"adj{a}", f"noun{b}") for a in range(n_adj) for b in range(n_noun)], n)
    facts = list(zip(names, descs))
    p2d, d2p, both = facts[:n_p2d], facts[n_p2d:n_p2d + n_d2p], facts[n_p2d + n_d2p:]

    def seq(first, second):
        return [ids[w] for w in (BOS, *first, "is", *second, ".")]

    rows = ([seq(nm, ds) for nm, ds in p2d] + [seq(ds, nm) for nm, ds in d2p]
            + [s for nm, ds in both for s in (seq(nm, ds), seq(ds, nm))])

    def queries(group, name_first):
        q = [(seq(nm, ds) if name_first else seq(ds, nm)) for nm, ds in group]
        t = torch.tensor(q)
        return t[:, :4], t[:, 4:6]

    return FactSet(words, torch.tensor(rows), {
        "DescriptionToName same": queries(d2p, name_first=False),
        "DescriptionToName reverse": queries(p2d, name_first=False),
        "NameToDescription same": queries(p2d, name_first=True),
        "NameToDescription reverse": queries(d2p, name_first=True),
    })


def correct(predict: Callable[[torch.Tensor], torch.Tensor], facts: FactSet) -> dict[str, torch.Tensor]:
    """Exact match per query (bool (Q,)) for each query format; ``predict`` maps prompts (Q, 4) to answers
    (Q, 2)."""
    out = {}
    for name in QUERY_FORMATS:
        prompts, answers = facts.queries[name]
        out[name] = (predict(prompts) == answers).all(dim=1)
    return out


def accuracy(predict: Callable[[torch.Tensor], torch.Tensor], facts: FactSet) -> dict[str, float]:
    """Exact-match accuracy per query format (the mean of ``correct``)."""
    return {name: c.float().mean().item() for name, c in correct(predict, facts).items()}


def predictor(kind: str, model: torch.nn.Module, facts: FactSet, *,
              cfg: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Greedy answers (Q, 2) to prompts (Q, 4): the ARM decodes left to right; the MDM fills
    ``answer .`` from three masks in three low-confidence steps, with unsupervised CFG scale ``cfg``."""
    from lib.smdm import mdm as smdm
    device = next(model.parameters()).device

    @torch.no_grad()
    def arm(prompts: torch.Tensor) -> torch.Tensor:
        out = model.generate(input_ids=prompts.to(device), max_new_tokens=2, do_sample=False,
                             pad_token_id=0)
        return out[:, prompts.shape[1]:].cpu()

    @torch.no_grad()
    def mdm(prompts: torch.Tensor) -> torch.Tensor:
        return smdm.generate(model, prompts.to(device), 3, facts.mask_id, steps=3, cfg=cfg)[:, :2].cpu()
    return arm if kind == "arm" else mdm


# --- Berglund's files ------------------------------------------------------------------------------

BERGLUND_TRAIN = ("p2d_prompts_train", "d2p_prompts_train", "both_prompts_train")
BERGLUND_QUERIES = {   # query format (the SMDM paper's Table 5 column) -> Berglund's test file
    "DescriptionToName same": "d2p_prompts_test",
    "DescriptionToName reverse": "p2d_reverse_prompts_test",
    "NameToDescription same": "p2d_prompts_test",
    "NameToDescription reverse": "d2p_reverse_prompts_test",
}


@dataclass(frozen=True)
class TextFacts:
    """Berglund's facts as text. ``lines`` are the training prompt + completion strings; ``train`` is
    (N, L): their BPE tokens + end-of-text, padded with end-of-text to the longest (as SMDM pads with
    EOS); ``queries[format]`` holds the held-out (prompt, completion) paraphrases. The ``[MASK]`` id is
    one past the tokenizer's vocabulary."""
    tokenizer: PreTrainedTokenizerFast
    names: dict[str, list[str]]
    lines: list[str]
    train: torch.Tensor
    queries: dict[str, list[tuple[str, str]]]

    @property
    def mask_id(self) -> int:
        return len(self.tokenizer)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer) + 1


def _jsonl(name: str) -> list[tuple[str, str]]:
    from lib.book import data
    with open(data.get(f"berglund_{name}")) as f:
        return [(r["prompt"], r["completion"]) for r in map(json.loads, f)]


def _name_of(text: str, names: list[str]) -> str:
    found = [n for n in names if n in text]
    if len(found) != 1:
        raise ValueError(f"expected exactly one of Berglund's names in {text!r}, found {found}")
    return found[0]


def load_berglund(n_facts: int | None = None, *, vocab_size: int = 1024,
                  tokenizer: PreTrainedTokenizerFast | None = None, lowercase: bool = False) -> TextFacts:
    """Berglund's Experiment 1 (June version): 30 facts seen name-first only (p2d), 30 description-first
    only (d2p), 30 in both orders, 30 paraphrases per fact and order; 10 held-out paraphrases per fact
    and query format. ``n_facts`` keeps the first facts of each group (``None``: all 30); a byte-level
    BPE of ``vocab_size`` is trained on the kept training lines, unless a ``tokenizer`` is given (e.g.
    one shared with a pretraining corpus). ``lowercase`` lower-cases lines and queries (names stay as
    in the files), to match a lower-cased pretraining corpus; the scores are case-blind anyway."""
    from lib.book import data
    from lib.core import tokenizer as tok
    if n_facts is not None and not 1 <= n_facts <= 30:
        raise ValueError(f"n_facts must be in 1..30 (facts per group) or None for all, got {n_facts}")
    all_names = data.get("berglund_names").read_text().split("\n")
    all_names = [n.strip() for n in all_names if n.strip()]
    names, lines = {}, []
    for group in BERGLUND_TRAIN:
        rows = _jsonl(group)
        order = list(dict.fromkeys(_name_of(p + c, all_names) for p, c in rows))
        names[group[:-len("_prompts_train")]] = keep = order[:n_facts]
        lines += [p + c for p, c in rows if _name_of(p + c, all_names) in keep]
    kept = {n for group in names.values() for n in group}
    queries = {fmt: [(p, c) for p, c in _jsonl(file) if _name_of(p + c, all_names) in kept]
               for fmt, file in BERGLUND_QUERIES.items()}
    if lowercase:
        lines = [line.lower() for line in lines]
        queries = {fmt: [(p.lower(), c.lower()) for p, c in pairs] for fmt, pairs in queries.items()}
    if tokenizer is None:
        tokenizer = tok.bpe_tokenizer(lines, vocab_size)
    eos = tokenizer.eos_token_id
    ids = [tokenizer(line).input_ids + [eos] for line in lines]
    width = max(map(len, ids))
    train = torch.tensor([row + [eos] * (width - len(row)) for row in ids])
    return TextFacts(tokenizer, names, lines, train, queries)


def answer_found(generation: str, answer: str) -> bool:
    """SMDM's reverse-curse "exact match": the lower-cased reference completion (stripped) occurs in
    the lower-cased generation."""
    return answer.strip().lower() in generation.lower()


def bleu(generation: str, answer: str) -> float:
    """Sentence BLEU (nltk defaults: up to 4-grams, no smoothing) of the generation against the
    reference, on lower-cased whitespace tokens, as SMDM scores name→description answers. Without
    smoothing a generation sharing no 4-gram with the reference scores 0 (nltk warns; silenced)."""
    from nltk.translate.bleu_score import sentence_bleu
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(sentence_bleu([answer.lower().split()], generation.lower().split()))


def text_scores(predict: Callable[[list[str]], list[str]], facts: TextFacts) -> pd.DataFrame:
    """One row per held-out query: format, prompt, answer, generation, ``found`` and ``bleu``."""
    rows = []
    for fmt, pairs in facts.queries.items():
        generations = predict([p for p, _ in pairs])
        rows += [dict(format=fmt, prompt=p, answer=a, generation=g, found=answer_found(g, a),
                      bleu=bleu(g, a)) for (p, a), g in zip(pairs, generations)]
    return pd.DataFrame(rows)


def text_predictor(kind: str, model: torch.nn.Module, facts: TextFacts, *,
                   cfg: float = 0.0) -> Callable[[list[str]], list[str]]:
    """Greedy completions of text prompts, cut at the first end-of-text. Both models get the same
    room: enough tokens to reach the training length, and at least half of it. The ARM
    decodes left to right; the MDM unmasks one token per step, most confident first (with unsupervised
    CFG scale ``cfg``). Prompts of equal token length are batched."""
    from lib.smdm import mdm as smdm
    if kind not in ("arm", "mdm"):
        raise ValueError(f"kind must be 'arm' or 'mdm', got {kind!r}")
    tokenizer, eos = facts.tokenizer, facts.tokenizer.eos_token_id
    width = facts.train.shape[1]
    device = next(model.parameters()).device

    @torch.no_grad()
    def complete(prompt_ids: torch.Tensor) -> torch.Tensor:
        gen_len = max(width - prompt_ids.shape[1], width // 2)
        if kind == "arm":
            out = model.generate(input_ids=prompt_ids, max_new_tokens=gen_len, do_sample=False,
                                 eos_token_id=eos, pad_token_id=eos)
            return out[:, prompt_ids.shape[1]:]
        return smdm.generate(model, prompt_ids, gen_len, facts.mask_id, steps=gen_len, cfg=cfg)

    def predict(prompts: list[str]) -> list[str]:
        encoded = [tokenizer(p).input_ids for p in prompts]
        out: list[str] = [""] * len(prompts)
        for n in sorted(set(map(len, encoded))):
            idx = [i for i, e in enumerate(encoded) if len(e) == n]
            tokens = complete(torch.tensor([encoded[i] for i in idx], device=device)).tolist()
            for i, row in zip(idx, tokens):
                out[i] = tokenizer.decode(row[:row.index(eos)] if eos in row else row)
        return out
    return predict


def published_accuracies() -> pd.DataFrame:
    """The published exact-match accuracies per query format (rows ``QUERY_FORMATS``): GPT-3 175B
    (Berglund et al., quoted in the paper's Table 5) and the paper's 1.1B MDM (reverse directions only;
    NaN where it reports none), from ``lib.smdm.paper``."""
    return pd.DataFrame({
        "GPT-3 175B (published)": [PAPER[f"gpt3_{k}"].value for k in ("d2n_same", "d2n_rev", "n2d_same", "n2d_rev")],
        "MDM 1.1B (published)": [None, PAPER["mdm_d2n_rev"].value, None, PAPER["mdm_n2d_rev"].value]},
        index=list(QUERY_FORMATS), dtype=float)
