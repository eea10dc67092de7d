"""AlpacaEval 2.0's metrics without the network: the judge's preference from its log-probs, the position
randomisation, the raw (soft) and discrete win rates, and the length-controlled (LC) win rate, a logistic GLM
with length and instruction-difficulty terms, L1 penalty chosen by 5-fold grouped cross-validation and an
optional regularisation towards the two "gamed" baselines.

Everything follows ``alpaca-eval==0.6.6`` (``metrics/winrate.py``, ``metrics/helpers.py``,
``metrics/glm_winrate.py``, ``completion_parsers.logprob_parser``), with the two inputs that the package
downloads from the hub at run time (``instruction_difficulty`` and ``df_gamed.csv``) passed as arguments.
``tests/cheating/test_winrates.py`` checks the equality against the package itself when it is installed.

The GLM is a convex problem in three weights. ``solver="exact"`` (the default, numpy/scipy only) solves it
to machine precision; ``solver="liblinear"`` calls scikit-learn's liblinear with the package's settings
(tolerance 1e-4, ``random_state=123``), which stops about 1e-4 short of the optimum in the weights, i.e.
up to about 0.05 points of LC win rate (measured on four models); with it our LC equals the package's to the last digits.
Cross-validation uses the package's folds (``GroupKFold`` on the duplicated soft-label rows), Cs and scorer."""
from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from lib.book import data

BASELINE = "gpt4_1106_preview"
GLMS = {   # name -> (use difficulty, regularize_to_baseline_lambda), as glm_winrate.GLM_INFO
    "length_controlled_v1": (True, 0.2),
    "length_controlled_noreg": (True, None),
    "length_controlled_minimal": (False, None),
}
CS = np.logspace(-4, 4, 10)   # LogisticRegressionCV's default Cs=10


def dataset_key(model: str, what: str = "annotations") -> str:
    """The registry name of a model's shared AlpacaEval file (``what``: "annotations" or "outputs")."""
    if what not in ("annotations", "outputs"):
        raise ValueError(f"what must be 'annotations' or 'outputs', got {what!r}")
    return "ae_" + model.replace("-", "_").replace(".", "_") + "_" + what


SHARED_MODELS = ("NullModel", "alpaca-7b", "alpaca-7b_concise", "alpaca-7b_verbose", "claude-2.1",
                 "claude-2.1_concise", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-1106_concise",
                 "gpt-3.5-turbo-1106_verbose", "gpt4_1106_preview", "gpt4_gamed", "phi-2", "text_davinci_003",
                 "vicuna-7b")


def load_json_gz(path: Path | str) -> list[dict]:
    """A (possibly gzipped) JSON list of records."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def annotations(model: str) -> pd.DataFrame:
    """The real ``weighted_alpaca_eval_gpt4_turbo`` annotations of ``model`` (one of ``SHARED_MODELS``) as
    the package reads them (``preference`` as float; output_1 = the baseline gpt4_1106_preview)."""
    if model not in SHARED_MODELS:
        raise ValueError(f"model must be one of {SHARED_MODELS}, got {model!r}")
    df = pd.DataFrame(load_json_gz(data.get(dataset_key(model))))
    df["preference"] = pd.to_numeric(df["preference"], errors="coerce")
    return df


def leaderboard() -> pd.DataFrame:
    """AlpacaEval 2.0's leaderboard (the package's CSV, one row per model, indexed by name)."""
    df = pd.read_csv(data.get("ae_leaderboard"), index_col=0)
    return df[~df.index.duplicated()]


# ---------------------------------------------------------------- the judge's verdict -> preference
def is_switched(instruction: str, seed: int = 0) -> bool:
    """Whether AlpacaEval shows the two outputs swapped for this instruction (the model's output first,
    under identifier ``m``): ``random_seeded_choice("is_switched_outputs" + instruction + str(seed))``."""
    return random.Random("is_switched_outputs" + instruction + str(seed)).choices([False, True], k=1)[0]


def logprob_preference(top_logprobs: Mapping[str, float] | Sequence[Mapping], numerator: str = "m",
                       denominators: Sequence[str] = ("m", "M")) -> float:
    """``logprob_parser(is_binarize=False)``: 2 − p(numerator) / Σ p(denominators), in [1, 2], from the
    judge's top log-probs (a {token: logprob} map or the API's list of {"token", "logprob"}); 1 means the
    first output (identifier ``m``) wins. A token missing from the list has probability 0; NaN if none is there."""
    if not isinstance(top_logprobs, Mapping):
        top_logprobs = {t["token"]: t["logprob"] for t in top_logprobs}
    wanted = set(denominators) | {numerator}
    lp = {t: float(v) for t, v in top_logprobs.items() if t in wanted}
    if not lp:
        return float("nan")
    num = lp.get(numerator, -math.inf)
    den = np.logaddexp.reduce([lp.get(t, -math.inf) for t in denominators])
    return float(2 - np.exp(num - den))


def unswitch(preference: float, switched: bool) -> float:
    """The preference in the leaderboard's orientation (2 = the evaluated model, output_2, wins)."""
    return 3 - preference if switched else preference


# ---------------------------------------------------------------- raw and discrete win rates
def win_rate(preferences: Sequence[float] | pd.Series) -> dict[str, float]:
    """``alpaca_eval.metrics.get_winrate``: soft win rate = 100·mean(pref − 1) over valid preferences
    (0 counts as a draw, 1.5), its standard error, win / loss / draw counts, and the discrete win rate
    (each preference rounded to 1 or 2, an exact 1.5 counted as half a win)."""
    raw = pd.Series(preferences, dtype=float).reset_index(drop=True)
    n_draws = int(((raw == 1.5) | (raw == 0)).sum())
    p = raw.replace({0.0: 1.5})
    p = p[(p >= 1) & (p <= 2)] - 1
    out = {"win_rate": p.mean() * 100, "standard_error": p.sem() * 100, "n_wins": int((p > 0.5).sum()),
           "n_wins_base": int((p < 0.5).sum()), "n_draws": n_draws, "n_total": int(len(p))}
    # ZeroOneScoringRule: 1.5 -> 0 (draw), round (half to even), back to 1.5
    d = raw.replace({1.5: 0.0}).round()
    d = d.replace({0.0: 1.5})
    d = d[(d >= 1) & (d <= 2)] - 1
    out["discrete_win_rate"] = d.mean() * 100
    return out


# ---------------------------------------------------------------- length-controlled win rate
def _logloss(target: np.ndarray, pred: np.ndarray, weight: np.ndarray | None) -> float:
    """glm_winrate.logloss: −mean(w·(t log p + (1−t) log(1−p))), predictions clipped to [1e-15, 1−1e-15]."""
    pred = np.clip(pred, 1e-15, 1 - 1e-15)
    ll = target * np.log(pred) + (1 - target) * np.log(1 - pred)
    return float(-np.mean(ll * weight if weight is not None else ll))


def fit_l1_logistic(X: np.ndarray, target: np.ndarray, weight: np.ndarray, C: float,
                    random_state: object = None) -> np.ndarray:
    """argmin_w  C·Σ_i weight_i·CE(target_i, σ(x_i·w)) + ‖w‖₁  (no intercept): liblinear's L1 logistic
    regression on the soft labels, solved exactly (w = u − v, u, v ≥ 0, L-BFGS-B to machine precision).
    ``random_state`` is unused (the signature is liblinear's)."""
    d = X.shape[1]
    cw1, cw0 = C * weight * target, C * weight * (1 - target)

    def f(z: np.ndarray) -> tuple[float, np.ndarray]:
        w = z[:d] - z[d:]
        s = X @ w
        # −log σ(s) = logaddexp(0, −s), −log(1−σ(s)) = logaddexp(0, s)
        val = cw1 @ np.logaddexp(0, -s) + cw0 @ np.logaddexp(0, s) + z.sum()
        sig = np.exp(-np.logaddexp(0, -s))
        g = X.T @ (cw1 * (sig - 1) + cw0 * sig)
        return float(val), np.concatenate([g + 1, -g + 1])

    z = np.zeros(2 * d)
    for _ in range(3):   # restart from the solution: L-BFGS-B's memory is reset, the last digits settle
        res = minimize(f, z, jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * d),
                       options={"maxiter": 10_000, "ftol": 1e-16, "gtol": 1e-13, "maxcor": 30})
        z = res.x
    w = z[:d] - z[d:]
    return np.where(np.abs(w) < 1e-12, 0.0, w)


def group_kfold_test_folds(n_groups: int, n_splits: int = 5) -> np.ndarray:
    """The fold of each group under scikit-learn's ``GroupKFold(n_splits)`` (no shuffle) when every group
    has the same size: groups are handed out in reverse order to the lightest fold, i.e. round robin."""
    order = np.argsort(np.ones(n_groups), kind="stable")[::-1]
    fold = np.zeros(n_groups, dtype=int)
    fold[order] = np.arange(n_groups) % n_splits
    return fold


def fit_l1_logistic_liblinear(X: np.ndarray, target: np.ndarray, weight: np.ndarray, C: float,
                              random_state: object = 123) -> np.ndarray:
    """The same fit as the package runs it: scikit-learn's liblinear on the rows duplicated with labels
    1 (weight·target) and 0 (weight·(1 − target)), tolerance 1e-4. liblinear's coordinate order is
    seeded from ``random_state``: ``LogisticRegressionCV`` walks the Cs of a fold with one
    ``RandomState(123)`` (one draw per C) and refits with a fresh one."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as e:
        raise ImportError("solver='liblinear' needs scikit-learn; solver='exact' does not") from e
    XX = np.concatenate([X, X])
    yy = np.concatenate([np.ones(len(X)), np.zeros(len(X))])
    ww = np.concatenate([weight * target, weight * (1 - target)])
    model = LogisticRegression(C=C, penalty="l1", solver="liblinear", fit_intercept=False,
                               random_state=random_state)
    return model.fit(XX, yy, sample_weight=ww).coef_[0]


SOLVERS = {"exact": fit_l1_logistic, "liblinear": fit_l1_logistic_liblinear}


def fit_glm_cv(X: np.ndarray, target: np.ndarray, weight: np.ndarray | None, *, n_splits: int = 5,
               Cs: np.ndarray = CS, solver: str = "exact") -> tuple[np.ndarray, float, np.ndarray]:
    """``fit_LogisticRegressionCV(is_ytrue_proba=True)``: choose C among ``Cs`` by the soft log-loss over
    ``GroupKFold`` folds (the two soft-label copies of a row share a fold), refit on all rows. Returns
    (weights, chosen C, mean CV loss per C)."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {sorted(SOLVERS)}, got {solver!r}")
    fit = SOLVERS[solver]
    w_all = np.ones(len(X)) if weight is None else np.asarray(weight, float)
    fold = group_kfold_test_folds(len(X), n_splits)
    losses = np.zeros((n_splits, len(Cs)))
    for f in range(n_splits):
        tr, te = fold != f, fold == f
        rng = np.random.RandomState(123)   # one per fold, drawn once per C (sklearn's scoring path)
        for j, C in enumerate(Cs):
            w = fit(X[tr], target[tr], w_all[tr], C, random_state=rng)
            pred = expit(X[te] @ w)   # predict_proba: expit of the decision function
            # the scorer sees both copies of each test row: target for copy 1 and copy 0 alike
            losses[f, j] = _logloss(np.concatenate([target[te]] * 2), np.concatenate([pred] * 2),
                                    None if weight is None else np.concatenate([w_all[te]] * 2))
    best = int(np.argmax(-losses.sum(0)))   # the first best, as LogisticRegressionCV
    return fit(X, target, w_all, Cs[best], random_state=123), float(Cs[best]), losses.mean(0)


def length_controlled_winrate(df: pd.DataFrame, instruction_difficulty: Sequence[float] | None = None,
                              df_gamed: pd.DataFrame | None = None, glm: str = "length_controlled_v1",
                              n_splits: int = 5, solver: str = "exact") -> dict[str, float]:
    """``get_length_controlled_winrate(df, glm_name=glm)`` with the hub files passed in.

    ``df``: annotations with ``output_1`` (baseline), ``output_2`` (model) and ``preference`` in [1, 2].
    ``instruction_difficulty``: one value per row of ``df`` (the package's ``df_gamed`` difficulties,
    indexed by instruction); ``df_gamed``: the gamed baselines' rows (columns ``instruction_difficulty``,
    ``preference`` in [0, 1], ``std_delta_len``, ``not_gamed_baseline`` False), needed by
    ``length_controlled_v1``. ``solver``: "exact" or "liblinear" (see the module's docstring).

    Design (no intercept): tanh(δ/std δ), difficulty, not_gamed (1 for the model's rows); δ = len(output_1)
    − len(output_2) in characters. The LC win rate is 100·mean σ(w·[0, difficulty_i, 1]): the predicted
    preference had both outputs the same length. A model shorter than the baseline has δ > 0, so it gets
    credited for the judge's length bias it did not enjoy."""
    if glm not in GLMS:
        raise ValueError(f"glm must be one of {sorted(GLMS)}, got {glm!r}")
    use_diff, lam = GLMS[glm]
    out = win_rate(df["preference"])
    n = len(df)
    diff = np.zeros(n) if instruction_difficulty is None else np.asarray(instruction_difficulty, float)
    if use_diff and instruction_difficulty is None:
        raise ValueError(f"glm {glm!r} needs instruction_difficulty (one value per annotation)")
    if len(diff) != n:
        raise ValueError(f"instruction_difficulty has {len(diff)} values for {n} annotations")
    if lam and df_gamed is None:
        raise ValueError(f"glm {glm!r} regularises towards the gamed baselines: pass df_gamed")
    pref = df["preference"].astype(float).replace({0.0: 1.5}).to_numpy() - 1
    delta = (df["output_1"].str.len() - df["output_2"].str.len()).astype(float)
    std_delta = (delta / delta.std()).to_numpy()
    cols = [np.tanh(std_delta)] + ([diff] if use_diff else []) + [np.ones(n)]
    X, y, w = np.stack(cols, 1), pref, None
    if lam:
        g = df_gamed
        gcols = [np.tanh(g["std_delta_len"].to_numpy(float))] + (
            [g["instruction_difficulty"].to_numpy(float)] if use_diff else []) + [
            g["not_gamed_baseline"].astype(float).to_numpy()]
        X = np.concatenate([np.stack(gcols, 1), X])
        y = np.concatenate([g["preference"].to_numpy(float), y])
        w = np.concatenate([np.where(g["not_gamed_baseline"].astype(bool), 1.0, lam / 2), np.ones(n)])
    keep = ~np.isnan(y)
    X, y = X[keep], y[keep]
    w = None if w is None else w[keep]
    coef, C, _ = fit_glm_cv(X, y, w, n_splits=n_splits, solver=solver)
    X_test = np.stack([np.zeros(n)] + ([diff] if use_diff else []) + [np.ones(n)], 1)
    pred = expit(X_test @ coef)
    out["length_controlled_winrate"] = float(pred.mean() * 100)
    out["lc_standard_error"] = float(pd.Series(pred).sem() * 100)
    out["glm_weights"] = dict(zip(["tanh(std_delta_len)"] + (["instruction_difficulty"] if use_diff else [])
                                  + ["not_gamed_baseline"], coef.tolist()))
    out["glm_C"] = C
    return out


def synthetic_difficulty_and_gamed(n: int, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """A stand-in for the hub's ``df_gamed.csv`` (the research prototype's recipe): N(0, 1) instruction
    difficulties and two gamed baselines (verbose: prefers long, concise: prefers short) with noisy
    preferences. Only for checking the GLM against the package offline; the real frame is not shared."""
    rng = np.random.default_rng(seed)
    diff = rng.normal(0, 1, n)
    rows = []
    for name, sgn in [("gpt4_1106_preview_verbose", 1), ("gpt4_1106_preview_concise", -1)]:
        rows.append(pd.DataFrame({"model": name, "index": np.arange(n), "instruction_difficulty": diff,
                                  "preference": np.clip(0.5 + 0.3 * sgn + 0.1 * rng.normal(size=n), 0.01, 0.99),
                                  "std_delta_len": sgn * np.abs(rng.normal(1, .5, n)),
                                  "not_gamed_baseline": False}))
    return diff, pd.concat(rows, ignore_index=True)
