"""An OpenAI-compatible judge for users with an endpoint (the OpenAI API, or vLLM / any server that speaks
the chat-completions protocol with log-probs). It asks for one token with its top log-probs, as AlpacaEval's
``weighted_alpaca_eval_gpt4_turbo`` annotator and the paper's search do (max_tokens 1, temperature 0,
logprobs, top_logprobs 20), and turns them into AlpacaEval's preference.

No network is used unless you construct one with a real client: pass ``client=`` any object with
``client.chat.completions.create(**kwargs)`` (the ``openai`` package's ``OpenAI(base_url=..., api_key=...)``);
the tests use a fake one that returns canned log-probs."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lib.cheating import templates, winrates


class OpenAIJudge:
    """A pairwise judge behind an OpenAI-compatible endpoint."""

    def __init__(self, model: str = "gpt-4-1106-preview", *, client: Any = None, base_url: str | None = None,
                 api_key: str | None = None, top_logprobs: int = 20, temperature: float = 0.0):
        if client is None:
            try:
                from openai import OpenAI
            except ImportError as e:   # the book does not depend on openai
                raise ImportError("OpenAIJudge needs the openai package (pip install openai) or a client=") from e
            client = OpenAI(base_url=base_url, api_key=api_key)
        if not 1 <= top_logprobs <= 20:
            raise ValueError(f"top_logprobs must be in 1..20, got {top_logprobs}")
        self.client, self.model = client, model
        self.top_logprobs, self.temperature = top_logprobs, temperature

    def top_logprobs_of(self, messages: list[dict[str, str]]) -> dict[str, float]:
        """{token: logprob} of the judge's first (and only) output token."""
        response = self.client.chat.completions.create(
            model=self.model, messages=messages, max_tokens=1, temperature=self.temperature,
            logprobs=True, top_logprobs=self.top_logprobs)
        content = response.choices[0].logprobs.content[0]
        return {t.token: t.logprob for t in content.top_logprobs}

    def alpaca_eval_preference(self, instruction: str, output_1: str, output_2: str) -> float:
        """AlpacaEval's preference in [1, 2] (2: output_2 wins) for one ordered comparison."""
        return winrates.logprob_preference(
            self.top_logprobs_of(templates.alpaca_eval_messages(instruction, output_1, output_2)))

    def alpaca_eval_annotation(self, instruction: str, baseline_output: str, model_output: str) -> float:
        """The leaderboard's preference for (baseline, model) on one instruction, with AlpacaEval's seeded
        position switch applied and undone."""
        switched = winrates.is_switched(instruction)
        pair = (model_output, baseline_output) if switched else (baseline_output, model_output)
        return winrates.unswitch(self.alpaca_eval_preference(instruction, *pair), switched)

    def attack_loss(self, instructions: Sequence[str], references: Sequence[str]):
        """The paper's search objective against this judge: a function of the null response giving the mean
        −log p(target) over the instructions in both positions (target ``M`` when the null response is
        output_2, ``m`` when it is output_1); a prompt whose target is not among the top log-probs is skipped,
        as in the official notebook. Use it with ``attack.random_search`` (tokens decoded to text first)."""
        def loss(response: str, n_prompts: int | None = None) -> float:
            prompts = []
            for inst, ref in zip(instructions, references):
                prompts.append((templates.alpaca_eval_messages(inst, ref, response), "M"))
                prompts.append((templates.alpaca_eval_messages(inst, response, ref), "m"))
            values = []
            for messages, target in prompts[:n_prompts]:
                lp = self.top_logprobs_of(messages)
                if target in lp:
                    values.append(-lp[target])
            return sum(values) / len(values) if values else math.inf
        return loss
