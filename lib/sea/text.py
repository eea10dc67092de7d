"""SEA's own setting (Liu et al. 2024, arXiv 2411.01493, sec. 6 and Fig. 5) as an environment for
``lib.sea.alignment.run_lm_alignment``: text prompts with SFT reference responses (TL;DR), a causal LM policy
loaded by hub name (a Pythia TL;DR SFT model), and a reward model (Skywork-Reward-Llama-3.1-8B) as the
hidden Bradley-Terry oracle, P(y > y' | x) = sigma(r(x, y) - r(x, y')). The win rate compares the
policy's greedy response with the dataset's SFT reference under the oracle, as the paper's code does.

The reward model SEA learns sees fixed features: the frozen SFT model's last hidden state at the
response's last token (the paper uses a frozen PairRM encoder). Every loader takes a hub name or an
already loaded object, so tests run the same path with tiny models built from configs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lib.core import models


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _chunks(n: int, size: int) -> list[slice]:
    """Slices of ``size`` (0: one slice of all ``n``)."""
    size = size or max(n, 1)
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@dataclass
class RewardOracle:
    """A sequence-classification reward model r(x, y) with its tokenizer. A (prompt, response) pair
    is formatted with the tokenizer's chat template (user: prompt, assistant: response) when it has one,
    else as the plain concatenation prompt + response. Sets a missing pad token to the end token."""
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    batch_size: int = 0          # pairs per forward pass (0: all at once)

    def __post_init__(self) -> None:
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.model.config.pad_token_id is None:    # the classifier pools at the last non-pad token
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.eval()

    def texts(self, prompts: list[str], responses: list[str]) -> list[str]:
        """The strings the reward model scores."""
        if not self.tokenizer.chat_template:
            return [p + r for p, r in zip(prompts, responses)]
        return [self.tokenizer.apply_chat_template([{"role": "user", "content": p},
                                                    {"role": "assistant", "content": r}], tokenize=False)
                for p, r in zip(prompts, responses)]

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        """r(x, y) for each (prompt, response): (n,) float32 on the CPU."""
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        texts = self.texts(prompts, responses)
        out = []
        for s in _chunks(len(texts), self.batch_size):
            enc = self.tokenizer(texts[s], padding=True, return_tensors="pt",
                                 add_special_tokens=not self.tokenizer.chat_template)
            with torch.no_grad():
                logits = self.model(input_ids=enc["input_ids"].to(_device(self.model)),
                                    attention_mask=enc["attention_mask"].to(_device(self.model))).logits
            out.append(logits[:, 0].float().cpu())
        return torch.cat(out) if out else torch.zeros(0)


@dataclass
class TextPrompts:
    """A batch of B prompts: their texts, the SFT reference responses ('' where there is none), and
    the tokenised prompts, left-padded for ``generate``: ``input_ids``, ``attention_mask`` (B, T)."""
    text: list[str]
    references: list[str]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, index: torch.Tensor) -> TextPrompts:
        """The rows selected by a (B,) bool mask or an index tensor."""
        index = torch.as_tensor(index)
        rows = index.nonzero()[:, 0] if index.dtype == torch.bool else index.reshape(-1)
        pick = rows.tolist()
        return TextPrompts([self.text[i] for i in pick], [self.references[i] for i in pick],
                           self.input_ids[rows], self.attention_mask[rows])


@dataclass
class TextEnv:
    """Text prompts, a policy tokenizer and a reward-model oracle: the ``lib.sea.alignment.AlignmentEnv``
    interface for a causal LM. ``train``/``evaluation`` are (prompt texts, reference texts);
    ``encoder`` is the frozen model whose hidden states are SEA's reward-model features (the SFT model).
    Responses are (…, response_len) token ids that end at the first end token, padding after it."""
    tokenizer: PreTrainedTokenizerBase
    train: tuple[list[str], list[str]]
    evaluation: tuple[list[str], list[str]]
    oracle: RewardOracle
    encoder: PreTrainedModel
    response_len: int = 53       # max new tokens (the paper's TL;DR setting: 53)
    max_prompt_len: int = 512    # longer prompts lose their beginning (the end holds "TL;DR:")
    gen_batch: int = 0           # sequences per generate call or forward pass (0: all at once)

    def __post_init__(self) -> None:
        if self.tokenizer.eos_token_id is None:
            raise ValueError("the policy's tokenizer needs an end-of-sequence token (responses end with it)")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.truncation_side = "left"
        if not isinstance(self.response_len, int) or self.response_len < 1:
            raise ValueError(f"response_len must be a positive int, got {self.response_len!r}")

    @property
    def feature_dim(self) -> int:
        return self.encoder.config.hidden_size

    def _encode(self, texts: list[str], references: list[str]) -> TextPrompts:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_prompt_len,
                             padding_side="left", return_tensors="pt")
        return TextPrompts(list(texts), list(references), enc["input_ids"], enc["attention_mask"])

    def sample_prompts(self, n: int, generator: torch.Generator | None = None) -> TextPrompts:
        texts, refs = self.train
        if n > len(texts):
            raise ValueError(f"batch ({n}) is larger than the {len(texts)} training prompts")
        rows = torch.randperm(len(texts), generator=generator)[:n].tolist()
        return self._encode([texts[i] for i in rows], [refs[i] for i in rows])

    def eval_prompts(self, n: int) -> TextPrompts:
        texts, refs = self.evaluation
        if n > len(texts):
            raise ValueError(f"n_eval ({n}) is larger than the {len(texts)} evaluation prompts")
        return self._encode(texts[:n], refs[:n])

    def response_mask(self, responses: torch.Tensor) -> torch.Tensor:
        """1 on a response's tokens up to and including its first end token, 0 after: (…, L)."""
        eos = responses == self.tokenizer.eos_token_id
        return (eos.long().cumsum(-1) - eos.long()) == 0

    def respond(self, model: torch.nn.Module, prompts: TextPrompts, n: int, *, sample: bool = True,
                temperature: float = 1.0) -> torch.Tensor:
        """``n`` responses per prompt with ``generate`` (sampled at ``temperature`` or greedy), stopped at
        the end token or after ``response_len`` tokens: (B, n, response_len) on the CPU."""
        ids = prompts.input_ids.repeat_interleave(n, 0)
        attn = prompts.attention_mask.repeat_interleave(n, 0)
        kw = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if sample else dict(do_sample=False)
        pad, L = self.tokenizer.pad_token_id, self.response_len
        out = torch.full((len(ids), L), pad, dtype=torch.long)
        for s in _chunks(len(ids), self.gen_batch):
            with torch.no_grad():
                gen = model.generate(input_ids=ids[s].to(_device(model)), attention_mask=attn[s].to(_device(model)),
                                     max_new_tokens=L, pad_token_id=pad, eos_token_id=self.tokenizer.eos_token_id,
                                     **kw)[:, ids.shape[1]:].cpu()
            out[s, :gen.shape[1]] = gen
        out = out.masked_fill(~self.response_mask(out), pad)
        return out.reshape(len(prompts), n, L)

    def decode(self, prompts: TextPrompts, responses: torch.Tensor) -> tuple[list[str], list[str]]:
        """Prompt texts and response texts (special tokens dropped) of responses (B, L)."""
        mask = self.response_mask(responses)
        return prompts.text, [self.tokenizer.decode(r[m], skip_special_tokens=True) for r, m in zip(responses, mask)]

    def oracle_reward(self, prompts: TextPrompts, responses: torch.Tensor) -> torch.Tensor:
        """The reward model's r(x, y) of responses (B, L): (B,)."""
        return self.oracle.score(*self.decode(prompts, responses))

    def reference_rewards(self, ref: torch.nn.Module, prompts: TextPrompts) -> torch.Tensor:
        """r(x, y_ref) of the dataset's SFT reference responses (``ref`` is not used: the SFT model's
        answers are in the dataset)."""
        return self.oracle.score(prompts.text, prompts.references)

    def sequences(self, prompts: TextPrompts, responses: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prompt + response per row, right-padded (every row starts at position 0): ``input_ids``,
        ``response_mask`` and ``attention_mask`` (B, T); responses (B, L)."""
        keep = self.response_mask(responses)
        rows = [(p[a.bool()], r[m]) for p, a, r, m in zip(prompts.input_ids, prompts.attention_mask,
                                                           responses, keep)]
        T = max(len(p) + len(r) for p, r in rows)
        ids = torch.full((len(rows), T), self.tokenizer.pad_token_id, dtype=torch.long)
        resp = torch.zeros(len(rows), T, dtype=torch.long)
        attn = torch.zeros(len(rows), T, dtype=torch.long)
        for i, (p, r) in enumerate(rows):
            ids[i, :len(p) + len(r)] = torch.cat([p, r])
            resp[i, len(p):len(p) + len(r)] = 1
            attn[i, :len(p) + len(r)] = 1
        return ids, resp, attn

    def features(self, prompts: TextPrompts, responses: torch.Tensor) -> torch.Tensor:
        """The frozen encoder's last hidden state at the last token of prompt + response:
        responses (B, k, L) -> (B, k, hidden_size), float32 on the CPU."""
        B, k = responses.shape[:2]
        rows = torch.arange(B).repeat_interleave(k)
        ids, _, attn = self.sequences(prompts[rows], responses.reshape(B * k, -1))
        out = []
        for s in _chunks(len(ids), self.gen_batch):
            with torch.no_grad():
                h = self.encoder.base_model(input_ids=ids[s].to(_device(self.encoder)),
                                            attention_mask=attn[s].to(_device(self.encoder))).last_hidden_state
            last = attn[s].sum(1) - 1
            out.append(h[torch.arange(len(last)), last.to(h.device)].float().cpu())
        return torch.cat(out).reshape(B, k, -1)


def _columns(table: Any) -> list[str]:
    if hasattr(table, "column_names"):          # datasets.Dataset
        return list(table.column_names)
    if hasattr(table, "columns"):               # pandas.DataFrame
        return list(table.columns)
    return list(table)                          # a dict of columns


def load_prompt_table(prompts: str | Any, split: str, *, prompt_key: str = "prompt",
                      reference_key: str | None = None) -> tuple[list[str], list[str]]:
    """(prompt texts, reference texts) of one split of a prompt dataset: ``prompts`` is a hub name
    (``datasets.load_dataset``) or a mapping of split name to a table (``datasets.Dataset``,
    ``pandas.DataFrame`` or dict of columns). Without ``reference_key`` the references are ''."""
    if isinstance(prompts, str):
        import datasets
        try:
            table = datasets.load_dataset(prompts, split=split)
        except ValueError as e:
            raise ValueError(f"split {split!r} of dataset {prompts!r}: {e}") from e
    else:
        if split not in prompts:
            raise ValueError(f"split {split!r} is not in the prompt dataset; splits: {sorted(prompts)}")
        table = prompts[split]
    columns = _columns(table)
    for name, key in (("prompt_key", prompt_key), ("reference_key", reference_key)):
        if key is not None and key not in columns:
            raise ValueError(f"{name} {key!r} is not a column of split {split!r} of the prompt dataset; "
                             f"columns: {columns}")
    texts = [str(t) for t in table[prompt_key]]
    refs = [str(t) for t in table[reference_key]] if reference_key is not None else [""] * len(texts)
    if not texts:
        raise ValueError(f"split {split!r} of the prompt dataset is empty")
    return texts, refs


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """A hub tokenizer by name (needs the hub)."""
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(name)


def make_text_env(policy: str | PreTrainedModel, prompts: str | Any, reference_key: str,
                  oracle: str | PreTrainedModel, *, policy_tokenizer: PreTrainedTokenizerBase | None = None,
                  oracle_tokenizer: PreTrainedTokenizerBase | None = None, prompt_key: str = "prompt",
                  train_split: str = "train", eval_split: str = "test", response_len: int = 53,
                  max_prompt_len: int = 512, gen_batch: int = 0,
                  device: str | torch.device | None = None) -> tuple[TextEnv, PreTrainedModel]:
    """The text environment and the SFT policy (float32, on ``device``: CUDA if available), from hub
    names (``from_pretrained``, ``datasets.load_dataset``) or loaded objects (then pass their
    tokenizers). The reward model runs in bfloat16 on CUDA, float32 on the CPU. Returns (env, sft); the
    frozen ``sft`` is also the env's feature encoder, so ``run_lm_alignment(env, sft, ...)`` holds
    one copy of it besides the trained policy."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    train = load_prompt_table(prompts, train_split, prompt_key=prompt_key)
    evaluation = load_prompt_table(prompts, eval_split, prompt_key=prompt_key, reference_key=reference_key)
    if isinstance(policy, str):
        policy_tokenizer = policy_tokenizer or load_tokenizer(policy)
        policy = models.from_pretrained(policy, dtype=torch.float32)
    if isinstance(oracle, str):
        oracle_tokenizer = oracle_tokenizer or load_tokenizer(oracle)
        oracle = models.reward_model_from_pretrained(oracle, dtype=torch.bfloat16 if device.type == "cuda"
                                                     else torch.float32)
    for name, tok in (("policy_tokenizer", policy_tokenizer), ("oracle_tokenizer", oracle_tokenizer)):
        if tok is None:
            raise ValueError(f"{name} is required when the model is passed as an object, not a hub name")
    sft = policy.to(device=device, dtype=torch.float32).eval()
    rm = RewardOracle(oracle.to(device).eval(), oracle_tokenizer, batch_size=gen_batch)
    env = TextEnv(policy_tokenizer, train, evaluation, rm, sft, response_len=response_len,
                  max_prompt_len=max_prompt_len, gen_batch=gen_batch)
    return env, sft
