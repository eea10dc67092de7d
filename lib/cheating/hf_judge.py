"""An open-weight judge run locally with ``transformers`` (the paper's Table 4 uses Llama-3-8B/70B-Instruct):
AlpacaEval's real template through the model's chat template, and the preference from the next-token
probabilities of ``m`` and ``M``, as ``logprob_parser`` computes it from an API's log-probs. The random
search then runs over the judge's own token ids (``attack.random_search``), decoded to text.

The notebooks' ``gpu`` profile loads the judge by hub name (its weights must be in the local hub cache); the
tests build a tiny model and tokenizer from configs."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from lib.cheating import attack, templates


class HFJudge:
    """A causal LM as an AlpacaEval judge."""

    def __init__(self, model, tokenizer, *, device: str | None = None, max_length: int = 4096):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model, self.tokenizer = model.to(self.device).eval(), tokenizer
        self.ids_mM = [self._single_token("m"), self._single_token("M")]
        self.max_length = max_length

    @classmethod
    def from_pretrained(cls, name: str, **kwargs) -> "HFJudge":
        """Load a judge from the hub (bf16 on a GPU)."""
        from transformers import AutoTokenizer

        from lib.core import models
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        return cls(models.from_pretrained(name, dtype=dtype), AutoTokenizer.from_pretrained(name), **kwargs)

    def _single_token(self, text: str) -> int:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"the judge's tokenizer splits {text!r} into {len(ids)} tokens; AlpacaEval needs one")
        return ids[0]

    def encode(self, messages: list[dict[str, str]]) -> list[int]:
        """Token ids of the chat prompt, ending where the judge's answer starts."""
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "keys"):   # transformers 5 returns a BatchEncoding
            ids = ids["input_ids"]
        return list(ids)[-self.max_length:]

    @torch.no_grad()
    def log_prefs(self, conversations: Sequence[list[dict[str, str]]], batch_size: int = 8) -> torch.Tensor:
        """(n, 2): log p(m), log p(M), renormalised over the two, for each conversation."""
        out = []
        for i in range(0, len(conversations), batch_size):
            seqs = [self.encode(m) for m in conversations[i:i + batch_size]]
            width = max(map(len, seqs))
            ids = torch.zeros(len(seqs), width, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for k, s in enumerate(seqs):   # left padding: the last position is every prompt's last token
                ids[k, width - len(s):] = torch.tensor(s)
                mask[k, width - len(s):] = 1
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits[:, -1]
            out.append(logits[:, self.ids_mM].float().log_softmax(-1).cpu())
        return torch.cat(out)

    def win_rates(self, instructions: Sequence[str], references: Sequence[str], response: str) -> dict[str, float]:
        """Soft win rate (%) of a constant response against the references, in each position and on average."""
        default = [templates.alpaca_eval_messages(i, r, response) for i, r in zip(instructions, references)]
        swapped = [templates.alpaca_eval_messages(i, response, r) for i, r in zip(instructions, references)]
        a = self.log_prefs(default)[:, 1].exp().mean().item() * 100
        b = self.log_prefs(swapped)[:, 0].exp().mean().item() * 100
        return {"win_default": a, "win_swapped": b, "win_rate": (a + b) / 2}

    def attack_loss(self, instructions: Sequence[str], references: Sequence[str], suffix: str = ""):
        """The search objective over token ids: the ids are decoded, ``suffix`` (the structured response) is
        appended, and the loss is the mean −log p(target) in both positions."""
        def loss(token_ids: list[int]) -> float:
            response = self.tokenizer.decode(token_ids) + suffix
            default = [templates.alpaca_eval_messages(i, r, response) for i, r in zip(instructions, references)]
            swapped = [templates.alpaca_eval_messages(i, response, r) for i, r in zip(instructions, references)]
            lp = self.log_prefs(default + swapped)
            n = len(default)
            return float(-(torch.cat([lp[:n, 1], lp[n:, 0]])).mean())
        return loss

    def search(self, instructions: Sequence[str], references: Sequence[str], *, n_tokens: int = 128,
               steps: int = 384, structured: bool = True, seed: int = 0) -> attack.SearchResult:
        """The paper's random search against this judge, over its token ids: a prefix of ``n_tokens`` ids
        initialised to " }" (the official notebook's start), one id replaced per step by a uniform draw
        below the tokenizer's vocabulary size, followed by the released structured response when
        ``structured``. ``response(result.tokens, structured)`` is the null model's text."""
        if n_tokens < 1:
            raise ValueError(f"n_tokens must be >= 1, got {n_tokens}")
        start = self.tokenizer.encode(" }", add_special_tokens=False)
        suffix = templates.STRUCTURED_ALPACA_EVAL if structured else ""
        vocab = self.tokenizer.vocab_size
        return attack.random_search(self.attack_loss(instructions, references, suffix), (start * n_tokens)[:n_tokens],
                                    lambda rng: rng.randrange(vocab), steps, seed=seed,
                                    decode=self.tokenizer.decode)

    def response(self, token_ids: Sequence[int], structured: bool = True) -> str:
        """The null model's constant response: the decoded prefix, then the structured response if asked."""
        return self.tokenizer.decode(list(token_ids)) + (templates.STRUCTURED_ALPACA_EVAL if structured else "")
