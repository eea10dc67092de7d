"""The reversal curse (Berglund et al., arXiv 2309.12288) in its procedural form: fictitious facts
"name is description" seen in one order only, queried in both.

Layout as in Berglund's data: facts seen only name-first (p2d), only description-first (d2p), and in
both orders (these teach the format). Queries are labelled by *query format*, as the SMDM paper's
Table 5 does: "DescriptionToName reverse" asks D→N about p2d facts, "NameToDescription reverse" asks
N→D about d2p facts."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

QUERY_FORMATS = ("DescriptionToName same", "DescriptionToName reverse",
                 "NameToDescription same", "NameToDescription reverse")
BOS, MASK = "[BOS]", "[MASK]"


@dataclass(frozen=True)
class FactSet:
    """Word-level facts. ``train`` is (N, 7): [BOS] + 6 words, e.g. ``fn3 ln7 is adj1 noun9 .``;
    ``queries[format]`` holds (prompt (Q, 4) = [BOS] + 3 words, answer (Q, 2)) tensors."""
    vocab: list[str]
    train: torch.Tensor
    queries: dict[str, tuple[torch.Tensor, torch.Tensor]]

    @property
    def mask_id(self) -> int:
        return self.vocab.index(MASK)

    def decode(self, ids: torch.Tensor) -> str:
        return " ".join(self.vocab[i] for i in ids.tolist())


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


def accuracy(predict: Callable[[torch.Tensor], torch.Tensor], facts: FactSet) -> dict[str, float]:
    """Exact-match accuracy per query format; ``predict`` maps prompts (Q, 4) to answers (Q, 2)."""
    out = {}
    for name in QUERY_FORMATS:
        prompts, answers = facts.queries[name]
        out[name] = (predict(prompts) == answers).all(dim=1).float().mean().item()
    return out


def train_model(kind: str, facts: FactSet, *, seed: int, steps: int, d_model: int, n_layers: int,
                n_heads: int, batch_size: int, lr: float) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train an ARM (``kind="arm"``: causal, next-token loss) or an MDM (``"mdm"``: bidirectional, the
    ELBO loss) of the same size on the same sequences with the same loop; returns (model, history)."""
    from lib import models, smdm, train
    if kind not in ("arm", "mdm"):
        raise ValueError(f"kind must be 'arm' or 'mdm', got {kind!r}")
    torch.manual_seed(seed)
    model = models.tiny_llama(len(facts.vocab), d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                              max_len=16, is_causal=kind == "arm", tie_embeddings=False)

    def mdm_loss(m: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return smdm.mdm_loss(m, batch, facts.mask_id)
    history = train.train(model, train.row_batches(facts.train, batch_size, seed),
                          train.TrainConfig(steps=steps, lr=lr, warmup=min(100, steps // 10)),
                          loss_fn=train.lm_loss if kind == "arm" else mdm_loss)
    return model.eval(), history


def predictor(kind: str, model: torch.nn.Module, facts: FactSet, *,
              cfg: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Greedy answers (Q, 2) to prompts (Q, 4): the ARM decodes left to right; the MDM fills
    ``answer .`` from three masks in three low-confidence steps, with unsupervised CFG scale ``cfg``."""
    from lib import smdm
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
