"""The defences that Zheng et al. (arXiv 2410.07137, Sec. 5) test against the null model, on the toy world:
a paraphrased judge template (``toy.prompt(..., template="paraphrase")``, their Table 5) and a perplexity
filter on responses (their Sec. 5 with GPT-2; windowed perplexity as Jain et al., 2023).

The filter's language model is trained here on the toy world's text: judge prompts filled with real
responses (the reference model's answers), the analogue of GPT-2's web text that contains such templates.
A response's score is its mean negative log-likelihood per word (log perplexity) under that model, given
the instruction's context, over the response and the closing quotes; the windowed score is the largest
mean over any ``window`` consecutive words. A response is flagged when its score exceeds a threshold set
for a false-positive rate on held-out real responses; a flagged response loses its comparison."""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from lib.cheating import attack, toy
from lib.core import models
from lib.core import train as core_train


class ReferenceLM:
    """A tiny causal LM (Llama) over the toy's words, trained on judge prompts with real responses."""

    def __init__(self, seed: int = 0, d_model: int = 48, n_layers: int = 2, n_heads: int = 4, max_len: int = 160):
        self.vocab = toy.vocabulary()
        self.index = {w: i for i, w in enumerate(self.vocab)}
        torch.manual_seed(seed)
        self.model = models.tiny_llama(len(self.vocab), d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                                       max_len=max_len)
        self.max_len = max_len

    def documents(self, seed: int, batch_size: int, p_correct: float = 0.9) -> Callable[[int], dict]:
        """Batches of official-template prompts whose two outputs are the reference model's answers to a
        random instruction (right-padded; ``labels`` -100 on padding); a pure function of (seed, step)."""
        def batch(step: int) -> dict[str, torch.Tensor]:
            rng = random.Random(seed * 1_000_003 + step)
            docs = []
            for _ in range(batch_size):
                inst = toy.instruction(rng)
                docs.append(toy.prompt(inst, toy.reference_answer(inst, rng, p_correct),
                                       toy.reference_answer(inst, rng, p_correct)))
            ids, labels = self._pad(docs)
            return {"input_ids": ids, "labels": labels}
        return batch

    def _pad(self, docs: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(map(len, docs))
        if width > self.max_len:
            raise ValueError(f"text of {width} words is longer than max_len={self.max_len}")
        ids = torch.zeros(len(docs), width, dtype=torch.long)
        labels = torch.full_like(ids, -100)
        for i, d in enumerate(docs):
            ids[i, :len(d)] = labels[i, :len(d)] = torch.tensor([self.index[w] for w in d])
        return ids, labels

    def train(self, steps: int = 600, lr: float = 3e-3, batch_size: int = 32, seed: int = 0):
        """Next-word cross-entropy on ``documents`` (lib.core.train); returns the loss history."""
        def loss_fn(model, b):
            return model(input_ids=b["input_ids"], labels=b["labels"]).loss
        cfg = core_train.TrainConfig(steps=steps, lr=lr, weight_decay=0.0, clip=1.0)
        history = core_train.train(self.model, self.documents(seed, batch_size), cfg, loss_fn=loss_fn, progress=False)
        self.model.eval()
        return history

    @torch.no_grad()
    def word_nll(self, contexts: Sequence[list[str]], continuations: Sequence[list[str]],
                 batch_size: int = 256) -> list[np.ndarray]:
        """For each (context, continuation): the NLL (nats) of each continuation word given what precedes it."""
        out = []
        for i in range(0, len(contexts), batch_size):
            ctx, cont = contexts[i:i + batch_size], continuations[i:i + batch_size]
            ids, _ = self._pad([c + k for c, k in zip(ctx, cont)])
            logp = self.model(input_ids=ids).logits.log_softmax(-1)
            for j, (c, k) in enumerate(zip(ctx, cont)):
                pos = torch.arange(len(c), len(c) + len(k))
                out.append(-logp[j, pos - 1, ids[j, pos]].numpy())
        return out


def window_score(nll: np.ndarray, window: int | None = None) -> float:
    """Log perplexity: the mean NLL, or with ``window`` the largest mean over ``window`` consecutive words
    (the whole sequence when it is shorter)."""
    if window is not None and window < 1:
        raise ValueError(f"window must be None or >= 1, got {window}")
    if window is None or len(nll) <= window:
        return float(np.mean(nll))
    sums = np.convolve(nll, np.ones(window), mode="valid")
    return float(sums.max() / window)


def response_scores(lm: ReferenceLM, split: toy.Split, responses: Sequence[list[str]],
                    window: int | None = None) -> np.ndarray:
    """(n,): the score of ``responses[i]`` as an answer to ``split.instructions[i]``: the words of the
    response and the closing quotes, given the template's head with the instruction."""
    contexts = [toy.template_parts(inst)[0] for inst in split.instructions]
    nlls = lm.word_nll(contexts, [list(r) + [toy.Q] for r in responses])
    return np.array([window_score(n, window) for n in nlls])


def threshold_at_fpr(real_scores: np.ndarray, fpr: float) -> float:
    """The score above which a fraction ``fpr`` of real responses lies (flag: score > threshold)."""
    if not 0 < fpr < 1:
        raise ValueError(f"fpr must be in (0, 1), got {fpr}")
    return float(np.quantile(real_scores, 1 - fpr))


def filtered_win_rates(judge: toy.Judge, lm: ReferenceLM, split: toy.Split, response: list[str], threshold: float,
                       window: int | None = None, template: str = "official") -> dict[str, float]:
    """``toy.null_win_rates`` behind the filter: a comparison whose null response is flagged is lost.
    Adds ``flagged``, the share (%) of the split's instructions on which the response is flagged."""
    flagged = response_scores(lm, split, [response] * len(split.instructions), window) > threshold
    default, swapped = toy.null_prompts(split, response, template)
    keep = torch.tensor(~flagged, dtype=torch.float32)
    p_default = judge.log_prefs(default)[:, 1].exp() * keep
    p_swapped = judge.log_prefs(swapped)[:, 0].exp() * keep
    a, b = float(p_default.mean()) * 100, float(p_swapped.mean()) * 100
    return {"win_default": a, "win_swapped": b, "win_rate": (a + b) / 2, "flagged": float(flagged.mean()) * 100}


def ppl_aware_search(judge: toy.Judge, lm: ReferenceLM, split: toy.Split, threshold: float, *,
                     window: int | None = None, n_tokens: int = 16, steps: int = 500, weight: float = 1.0,
                     seed: int = 0) -> attack.SearchResult:
    """The adaptive attack on the filter: the same random search, now over the *whole* response (the
    prefix and the structured part, which starts as ``toy.STRUCTURED``), on the judge's loss plus
    ``weight`` × the largest excess of the response's score over ``threshold`` on the training
    instructions. ``result.tokens`` is the whole response."""
    judge_loss = toy.attack_loss(judge, split)
    n = len(split.instructions)

    def loss(response: list[str]) -> float:
        excess = response_scores(lm, split, [response] * n, window).max() - threshold
        return judge_loss(response) + weight * max(0.0, float(excess))
    words = judge.vocab[1:]
    return attack.random_search(loss, ["}"] * n_tokens + toy.STRUCTURED, lambda rng: rng.choice(words), steps,
                                seed=seed)
