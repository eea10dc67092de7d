"""The CPU experiment of chapter 08: a tiny word-level GPT finetuned on TOFU-format authors (procedural by
default), then unlearned with the losses of ``losses.py`` and evaluated with the metrics of
``metrics.py`` on the forget, retain and world sets.

Scale: a 2-layer, 128-wide GPT-2 (transformers config, random init, ~0.4M parameters) finetuned on all
answers and paraphrases with ``lib.core.train``; unlearning follows the release's loop: 5 epochs over the
forget set in batches of 4, each forget item paired with a retain item and a refusal string fixed by its
index (the release seeds its dataset with ``torch.manual_seed(idx)``), AdamW with weight decay 0.01.
"""
from __future__ import annotations

import copy
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import hmean

from lib.core.train import TrainConfig, step_generator, train
from lib.llm_unlearning import losses, metrics, tofu

_TOKEN = re.compile(r"\w+|[^\w\s]")
SPECIAL = ["<pad>", "<eos>", "Q:", "A:"]
PAD, EOS, Q, A = range(4)


def words(text: str) -> list[str]:
    """Word-level tokens: runs of word characters and single punctuation marks."""
    return _TOKEN.findall(text)


class WordTokenizer:
    """A closed word vocabulary built from the world's texts; encodes ``Q: question A: answer <eos>``."""

    def __init__(self, texts: Sequence[str], max_len: int = 32, max_new: int = 14):
        vocab = sorted({w for t in texts for w in words(t)} - set(SPECIAL))
        self.itos = SPECIAL + vocab
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.max_len, self.max_new = max_len, max_new

    def __len__(self) -> int:
        return len(self.itos)

    def prompt(self, question: str) -> list[int]:
        return [Q] + [self.stoi[w] for w in words(question)] + [A]

    def encode_qa(self, question: str, answer: str) -> tuple[list[int], list[int], list[int]]:
        """(input_ids, labels, attention_mask), padded to ``max_len``; labels -100 on the question."""
        q = self.prompt(question)
        a = [self.stoi[w] for w in words(answer)] + [EOS]
        ids, lab = (q + a)[:self.max_len], ([-100] * len(q) + a)[:self.max_len]
        n = len(ids)
        pad = self.max_len - n
        return ids + [PAD] * pad, lab + [-100] * pad, [1] * n + [0] * pad

    def batch(self, pairs: Sequence[tuple[str, str]], device: torch.device | str = "cpu") -> losses.Batch:
        enc = [self.encode_qa(q, a) for q, a in pairs]
        return tuple(torch.tensor([e[i] for e in enc], device=device) for i in range(3))

    def decode(self, ids: Sequence[int]) -> str:
        return " ".join(self.itos[i] for i in ids)


def world_texts(world: dict) -> list[str]:
    """Every text of a world (for the vocabulary)."""
    out = list(world["idk"])
    for key in ("forget", "retain", "world", "unknown", "retain_train"):
        for d in world.get(key, []):
            out += [d["question"], d["answer"], d.get("paraphrased_answer", "")] + d.get("perturbed_answer", [])
    return out


def tiny_gpt(vocab_size: int, max_len: int = 32, d_model: int = 128, n_layers: int = 2, n_heads: int = 4):
    """A randomly initialised GPT-2 (no dropout) from the current torch seed."""
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(vocab_size=vocab_size, n_positions=max_len, n_embd=d_model, n_layer=n_layers,
                     n_head=n_heads, bos_token_id=EOS, eos_token_id=EOS, pad_token_id=PAD,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return GPT2LMHeadModel(cfg)


def finetune_pairs(world: dict) -> list[tuple[str, str]]:
    """The finetuning set: every known question with its answer and with its paraphrase, plus the
    unknown authors' questions answered with a refusal."""
    known = world["forget"] + world["retain"] + world["world"]
    pairs = [(d["question"], d["answer"]) for d in known]
    pairs += [(d["question"], d["paraphrased_answer"]) for d in known if d["paraphrased_answer"] != d["answer"]]
    pairs += [(d["question"], d["answer"]) for d in world["unknown"]]
    return pairs


def finetune(model: torch.nn.Module, tok: WordTokenizer, world: dict, *, steps: int = 1000,
             lr: float = 3e-3, batch_size: int = 32, seed: int = 0, progress: bool = False):
    """Finetune on ``finetune_pairs(world)`` with the book's training loop; returns its history."""
    enc = [tok.encode_qa(q, a) for q, a in finetune_pairs(world)]
    ids, lab, att = (torch.tensor([e[i] for e in enc]) for i in range(3))

    def batches(step: int) -> dict[str, torch.Tensor]:
        idx = torch.randint(0, len(ids), (batch_size,), generator=step_generator(seed, step))
        return {"input_ids": ids[idx], "labels": lab[idx], "attention_mask": att[idx]}

    cfg = TrainConfig(steps=steps, lr=lr, warmup=max(1, steps // 4), min_lr_ratio=0.0, weight_decay=0.0,
                      betas=(0.9, 0.999), clip=1.0)
    return train(model, batches, cfg, loss_fn=lambda m, b: m(**b).loss, progress=progress)


# ----------------------------------------------------------------------------- generation and evaluation
def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def generate(model: torch.nn.Module, tok: WordTokenizer, questions: Sequence[str],
             max_new: int | None = None) -> list[str]:
    """Greedy answers (at most ``max_new`` tokens, default ``tok.max_new``), batched over questions of
    equal prompt length; stops at <eos>."""
    max_new = tok.max_new if max_new is None else max_new
    was_training = model.training
    model.eval()
    dev = _device(model)
    prompts = [tok.prompt(q) for q in questions]
    out: list[list[int]] = [[] for _ in prompts]
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(len(p), []).append(i)
    for n, idx in groups.items():
        x = torch.tensor([prompts[i] for i in idx], device=dev)
        done = torch.zeros(len(idx), dtype=torch.bool, device=dev)
        for _ in range(min(max_new, tok.max_len - 1 - n)):
            nxt = model(input_ids=x).logits[:, -1].argmax(-1)
            for j, i in enumerate(idx):
                if not done[j] and int(nxt[j]) != EOS:
                    out[i].append(int(nxt[j]))
            done |= nxt == EOS
            if bool(done.all()):
                break
            x = torch.cat([x, nxt[:, None]], 1)
    if was_training:
        model.train()
    return [tok.decode(o) for o in out]


@torch.no_grad()
def avg_nll(model: torch.nn.Module, tok: WordTokenizer, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """Length-normalised NLL of each answer given its question, shape (N,)."""
    b = tok.batch(pairs, _device(model))
    n = (b[1][:, 1:] != -100).sum(-1).clamp_min(1)
    return (losses.seq_nll(model, b) / n).cpu().numpy()


def is_refusal(text: str, idk: Sequence[str]) -> bool:
    """Whether a generation is one of the refusal strings (whitespace-insensitive)."""
    norm = " ".join(words(text))
    return any(norm == " ".join(words(s)) for s in idk)


def evaluate_set(model: torch.nn.Module, tok: WordTokenizer, items: Sequence[dict], idk: Sequence[str],
                 forget: bool) -> dict:
    """Every metric of one set: ROUGE, Prob, TR (closer-look convention on the forget set), Ent (token
    entropy), Entail (fact-match, the CPU substitute for NLI), refusal rate; ``gens`` the generations."""
    gens = generate(model, tok, [d["question"] for d in items])
    gts = [d["answer"] for d in items]
    rouge = np.array([metrics.rougeL_recall(g, t) for g, t in zip(gens, gts)])
    p = metrics.probability(avg_nll(model, tok, [(d["question"], t) for d, t in zip(items, gts)]))
    para = avg_nll(model, tok, [(d["question"], d["paraphrased_answer"]) for d in items])
    k = min(len(d["perturbed_answer"]) for d in items)
    pert = np.stack([avg_nll(model, tok, [(d["question"], d["perturbed_answer"][j]) for d in items])
                     for j in range(k)], 1)
    R = metrics.truth_ratios(para, pert)
    if all(d.get("fact") for d in items):
        entail = metrics.fact_match(gens, gts, [d["fact"] for d in items])
    else:   # real TOFU items carry no short fact: a ROUGE proxy, labelled as such in the notebooks
        entail = (rouge >= 0.5).astype(float)
    return {"ROUGE": float(rouge.mean()), "Prob": p,
            "TR": metrics.truth_ratio_score(R, forget, "closer_look"),
            "Ent": float(np.mean([metrics.token_entropy(words(g)) for g in gens])),
            "Entail": float(entail.mean()),
            "refusal": float(np.mean([is_refusal(g, idk) for g in gens])), "R": R, "gens": gens}


TOY_UTILITY = ("ROUGE", "Prob", "TR", "Ent", "Entail")
TOY_FORGET = ("ROUGE", "Prob", "TR", "Entail")


def summarize(model: torch.nn.Module, tok: WordTokenizer, world: dict, n_retain_eval: int = 40,
              forget_items: Sequence[dict] | None = None) -> dict:
    """MU (harmonic mean of ROUGE, Prob, TR, Ent, Entail on retain and world, each floored at 1e-3),
    FE (1 − mean of forget ROUGE, Prob, TR, Entail), and the per-set metrics. Cosine similarity is left
    out here (the embedding package is optional); notebook 1 shows it."""
    retain_eval = random.Random(0).sample(world["retain"], min(n_retain_eval, len(world["retain"])))
    f = evaluate_set(model, tok, forget_items if forget_items is not None else world["forget"], world["idk"], True)
    r = evaluate_set(model, tok, retain_eval, world["idk"], False)
    w = evaluate_set(model, tok, world["world"], world["idk"], False)
    mu = float(hmean([max(1e-3, s[m]) for s in (r, w) for m in TOY_UTILITY]))
    return {"MU": mu, "FE": metrics.paper_forget_efficacy(f, TOY_FORGET), "forget": f, "retain": r, "world": w}


# ----------------------------------------------------------------------------- unlearning
@dataclass(frozen=True)
class UnlearnConfig:
    """The release's unlearning settings, scaled to the toy (paper values in comments)."""
    lr: float = 5e-4              # paper: 1e-5 on Llama-2-7B
    epochs: int = 5               # paper: 5
    batch_size: int = 4           # paper: 32 (4 x 4 accumulation x 2 GPUs)
    beta: float = 0.1             # paper: 0.1
    weight_decay: float = 0.01    # paper: 0.01
    me_coeff: float = 1.0         # paper: 0.1 with log V = 10.4 (Llama); our V ~ 150 gives log V ~ 5
    reg_coeff: float = 1.0        # paper: 1.0
    me_positions: str = "all"     # paper (mask=false): every position incl. question and padding
    retain_partner: str = "fixed"  # paper: each forget index has a fixed retain item ("random": a fresh one per step)

    def __post_init__(self) -> None:
        for name in ("lr", "beta", "me_coeff"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.retain_partner not in ("fixed", "random"):
            raise ValueError(f"retain_partner must be 'fixed' (the release) or 'random', got {self.retain_partner!r}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")


def unlearn(model: torch.nn.Module, tok: WordTokenizer, world: dict, method: str,
            cfg: UnlearnConfig = UnlearnConfig(), seed: int = 0, forget_items: Sequence[dict] | None = None,
            ref: torch.nn.Module | None = None) -> torch.nn.Module:
    """A copy of ``model`` unlearned with ``method`` (e.g. ``"ME+GD"``) on ``forget_items`` (default: the
    world's forget set). ``ref`` is the frozen reference (default: a copy of ``model``)."""
    losses.parse_method(method)
    forget_items = list(world["forget"] if forget_items is None else forget_items)
    m = copy.deepcopy(model).train()
    ref = (copy.deepcopy(model) if ref is None else ref).eval()
    dev = _device(m)
    opt = torch.optim.AdamW(m.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    retain, idk = world["retain"], world["idk"]
    partner = []   # per forget index: a fixed retain item and refusal strings (the release's manual_seed(idx))
    for i in range(len(forget_items)):
        r = random.Random(i)
        partner.append((retain[r.randrange(len(retain))], r.choice(idk), r.choice(idk)))
    fc = cfg.me_coeff if method.startswith("ME") else 1.0
    rng = random.Random(seed)
    for _ in range(cfg.epochs):
        order = rng.sample(range(len(forget_items)), len(forget_items))
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            fb = [forget_items[i] for i in idx]
            if cfg.retain_partner == "fixed":
                rb = [partner[i][0] for i in idx]
            else:
                rb = rng.sample(retain, len(idx))
            batches = {"forget": tok.batch([(d["question"], d["answer"]) for d in fb], dev),
                       "retain": tok.batch([(d["question"], d["answer"]) for d in rb], dev),
                       "forget_idk": tok.batch([(d["question"], partner[i][1]) for d, i in zip(fb, idx)], dev),
                       "retain_idk": tok.batch([(d["question"], partner[i][2]) for d, i in zip(rb, idx)], dev)}
            loss = losses.unlearn_loss(method, m, ref, batches, fc, cfg.reg_coeff, cfg.beta, cfg.me_positions)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return m


def forget_requests(items: Sequence[dict], n_stages: int) -> list[list[dict]]:
    """Split a forget set into ``n_stages`` disjoint requests of whole authors (items grouped by their
    ``"author"`` key, in order of first appearance; the authors are dealt out in consecutive blocks of
    equal size). Raises when the authors do not divide evenly into the stages."""
    authors: dict[str, list[dict]] = {}
    for d in items:
        if "author" not in d:
            raise ValueError("forget items need an 'author' key to be split into requests")
        authors.setdefault(d["author"], []).append(d)
    groups = list(authors.values())
    if n_stages < 1 or len(groups) % n_stages:
        raise ValueError(f"n_stages must be a positive divisor of the number of forget authors "
                         f"({len(groups)}), got {n_stages}")
    k = len(groups) // n_stages
    return [[d for g in groups[i * k:(i + 1) * k] for d in g] for i in range(n_stages)]


def continual(model: torch.nn.Module, tok: WordTokenizer, world: dict, method: str, n_stages: int = 3,
              cfg: UnlearnConfig = UnlearnConfig(), seed: int = 0) -> list[dict]:
    """Continual unlearning: the forget set split into ``n_stages`` author-disjoint requests
    (``forget_requests``), applied one after the other, each starting from the model the previous one
    left; the retain set stays fixed and the reference model is the model before each request (the
    release's default ``fix_ref_model=false``). Returns, per stage, ``summarize`` with the forget set =
    everything forgotten so far (``"FE"``, ``"forget"``), plus ``"FE_requests"``: FE on each request
    served so far, separately (the last one is the newest)."""
    requests = forget_requests(world["forget"], n_stages)
    out, m, done = [], model, []
    for k, request in enumerate(requests):
        m = unlearn(m, tok, world, method, cfg, seed=seed + k, forget_items=request)
        done += request
        s = summarize(m, tok, world, forget_items=done)
        fe = [metrics.paper_forget_efficacy(evaluate_set(m, tok, r, world["idk"], True), TOY_FORGET)
              for r in requests[:k + 1]]
        out.append({**s, "FE_requests": fe})
    return out


# ----------------------------------------------------------------------------- experiment helpers
WORLDS = ("procedural", "tofu")


def prepare(seed: int, world: str = "procedural", steps: int = 600, lr: float = 3e-3,
            d_model: int = 128, n_layers: int = 2, n_forget: int | None = None) -> tuple:
    """Build the world of ``seed`` and finetune a fresh tiny GPT on it (torch seed ``seed``). ``world``:
    ``"procedural"`` (40 authors, ``n_forget`` of them forgotten, default 4) or ``"tofu"`` (a slice of
    the real TOFU authors: 7 retain authors and ``n_forget`` forget authors, default 1; longer answers).
    Returns (model, tokenizer, world, history)."""
    if world not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}, got {world!r}")
    if world == "procedural":
        w, max_len = tofu.make_authors(seed=seed, n_forget=4 if n_forget is None else n_forget), 32
    else:
        n_forget = 1 if n_forget is None else n_forget
        w = tofu.tofu_slice(n_authors=7 + n_forget, n_forget=n_forget, seed=seed)
        w["unknown"] = [{"question": d["question"], "answer": random.Random(i).choice(w["idk"]),
                         "fact": None} for i, d in enumerate(tofu.tofu_slice(n_authors=10, n_forget=1)["retain"][140:180])]
        max_len = 96
    tok = WordTokenizer(world_texts(w), max_len=max_len, max_new=14 if world == "procedural" else 64)
    torch.manual_seed(seed)
    model = tiny_gpt(len(tok), max_len, d_model, n_layers)
    if torch.cuda.is_available():
        model = model.cuda()
    hist = finetune(model, tok, w, steps=steps, lr=lr, seed=seed)
    return model, tok, w, hist


def row(summary: dict, **keys) -> dict:
    """One flat result row from ``summarize``'s output."""
    f, r = summary["forget"], summary["retain"]
    return {**keys, "MU": summary["MU"], "FE": summary["FE"], "forget ROUGE": f["ROUGE"],
            "forget entropy": f["Ent"], "forget refusal": f["refusal"], "retain ROUGE": r["ROUGE"],
            "retain entropy": r["Ent"], "retain refusal": r["refusal"], "world ROUGE": summary["world"]["ROUGE"]}


def sweep(model: torch.nn.Module, tok: WordTokenizer, world: dict, methods: Sequence[str],
          lrs: Sequence[float], cfg: UnlearnConfig = UnlearnConfig(), seed: int = 0,
          n_examples: int = 3) -> tuple[list[dict], dict]:
    """Unlearn ``model`` with every method at every learning rate; returns (rows, examples) where
    examples maps (method, lr) to the first ``n_examples`` forget and retain generations."""
    rows, examples = [], {}
    base = summarize(model, tok, world)
    rows.append(row(base, seed=seed, method="before unlearning", lr=0.0))
    examples["before unlearning", 0.0] = (base["forget"]["gens"][:n_examples], base["retain"]["gens"][:n_examples])
    for method in methods:
        for lr in lrs:
            s = summarize(unlearn(model, tok, world, method, dataclasses_replace(cfg, lr=lr), seed=seed), tok, world)
            rows.append(row(s, seed=seed, method=method, lr=lr))
            examples[method, lr] = (s["forget"]["gens"][:n_examples], s["retain"]["gens"][:n_examples])
    return rows, examples


def dataclasses_replace(cfg: UnlearnConfig, **changes) -> UnlearnConfig:
    import dataclasses
    return dataclasses.replace(cfg, **changes)
