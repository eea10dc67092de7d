"""The scores of the other two benchmarks the paper cheats, computed as their official scripts do.

- MT-Bench (lm-sys/FastChat ``fastchat/llm_judge``): the judge writes "Rating: [[x]]"; a judgment whose
  rating cannot be parsed counts as −1 and is dropped; the score is the mean over both turns.
- Arena-Hard-Auto (lmarena/arena-hard-auto ``show_result.py``, v0.1): two games per question against the
  baseline gpt-4-0314 (the baseline first, then second); a verdict ``[[A>>B]]`` counts as 3 battles, ``[[A>B]]``
  as 1, a tie as a tie; Bradley–Terry ratings by maximum likelihood (Elo scale 400, base 10, baseline at
  1000), the score is the predicted win rate against the baseline, with a bootstrap interval.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize

RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]")
RATING_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")
VERDICT = re.compile(r"\[\[([AB<>=]+)\]\]")
BASE, SCALE, INIT = 10.0, 400.0, 1000.0


def parse_rating(judgment: str) -> float:
    """FastChat's single-answer parser: the number in [[x]] (or [x]), else −1."""
    match = RATING.search(judgment) or RATING_BACKUP.search(judgment)
    return float(match.group(1)) if match else -1.0


def mt_bench_score(judgments: pd.DataFrame) -> pd.DataFrame:
    """Per model: first-turn, second-turn and overall mean score (columns ``model``, ``turn``, ``score``;
    unparsed −1 scores dropped), as ``show_result.py --mode single``."""
    df = judgments[judgments["score"] != -1]
    by_turn = df.pivot_table(index="model", columns="turn", values="score", aggfunc="mean")
    by_turn.columns = [f"turn_{c}" for c in by_turn.columns]
    by_turn["score"] = df.groupby("model")["score"].mean()
    return by_turn.sort_values("score", ascending=False)


def parse_verdict(judgment: str) -> str | None:
    """Arena-Hard's verdict: the distinct [[…]] labels of the judgment; None unless exactly one."""
    found = set(VERDICT.findall(judgment.upper()))
    return found.pop().strip("\n") if len(found) == 1 else None


def battles_from_games(model: str, games: Sequence[tuple[str | None, str | None]], baseline: str = "gpt-4-0314",
                       weight: int = 3) -> pd.DataFrame:
    """One row per battle from (game 1, game 2) verdicts per question: in game 1 the baseline is A, in
    game 2 the model is A. A strong verdict (>>) counts ``weight`` times; an unparsed one not at all."""
    rows = []
    for q, (g1, g2) in enumerate(games):
        for game, model_is_a in ((g1, False), (g2, True)):
            if game is None:
                continue
            w, winner = 1, None
            if game == "A=B":
                winner = "tie"
            elif game in ("A>B", "A>>B"):
                winner = "model_b" if model_is_a else "model_a"
            elif game in ("B>A", "B>>A"):
                winner = "model_a" if model_is_a else "model_b"
            if game in ("A>>B", "B>>A"):
                w = weight
            if winner is not None:
                rows += [{"question_id": q, "model_a": baseline, "model_b": model, "winner": winner}] * w
    return pd.DataFrame(rows, columns=["question_id", "model_a", "model_b", "winner"])


def bradley_terry(battles: pd.DataFrame, anchor: str = "gpt-4-0314") -> pd.Series:
    """``compute_mle_elo``: Bradley–Terry ratings on the Elo scale (a win counts 2, a tie 1 for each side),
    fitted by maximum likelihood without penalty, the anchor set to 1000."""
    players = sorted(set(battles["model_a"]) | set(battles["model_b"]))
    idx = {p: i for i, p in enumerate(players)}
    wins = np.zeros((len(players), len(players)))
    for a, b, w in battles[["model_a", "model_b", "winner"]].itertuples(index=False):
        i, j = idx[a], idx[b]
        if w == "model_a":
            wins[i, j] += 2
        elif w == "model_b":
            wins[j, i] += 2
        elif w.startswith("tie"):
            wins[i, j] += 1
            wins[j, i] += 1

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        d = theta[:, None] - theta[None, :]               # rating difference in natural-log odds
        lp = -np.logaddexp(0, -d)
        p = np.exp(lp)
        grad = -((wins * (1 - p)).sum(1) - (wins.T * (1 - p.T)).sum(1))
        return float(-(wins * lp).sum()), grad

    theta = minimize(nll, np.zeros(len(players)), jac=True, method="L-BFGS-B",
                     options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10_000}).x
    elo = SCALE * theta / np.log(BASE) + INIT
    if anchor in idx:
        elo += INIT - elo[idx[anchor]]
    return pd.Series(elo, index=players)


def win_rate_vs(elo: pd.Series, baseline: str = "gpt-4-0314") -> pd.Series:
    """Predicted win rate (%) of each player against ``baseline``."""
    return 100 / (1 + BASE ** ((elo[baseline] - elo) / SCALE))


def arena_hard_score(battles: pd.DataFrame, baseline: str = "gpt-4-0314", n_bootstrap: int = 100,
                     seed: int = 0) -> pd.DataFrame:
    """Per model: the score (win rate vs the baseline, %) and its bootstrap 95 % interval (battles
    resampled with replacement ``n_bootstrap`` times)."""
    score = win_rate_vs(bradley_terry(battles, baseline), baseline)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_bootstrap):
        sample = battles.iloc[rng.integers(0, len(battles), len(battles))]
        boots.append(win_rate_vs(bradley_terry(sample, baseline), baseline))
    boots = pd.DataFrame(boots)
    return pd.DataFrame({"score": score, "lower": boots.quantile(0.025), "upper": boots.quantile(0.975)})
