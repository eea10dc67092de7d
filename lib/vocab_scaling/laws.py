"""Scaling Laws with Vocabulary: Larger Models Deserve Larger Vocabularies (Tao et al., NeurIPS 2024,
arXiv 2407.13623; official code sail-sg/scaling-with-vocab).

Implements: the FLOPs count with a vocabulary, C = 6 (N_nv + V d) D, with tokens tied to characters by
the tokenizer's compression D = f(V) H, f(V) = a ln²V + b ln V + c; the unigram-normalised loss L_u;
the three predictors of the optimal vocabulary parameters N_v = V d with the published constants
(approach 1: IsoFLOP power laws; approach 2: the derivative dC/dV = 0 turned into a relative law;
approach 3: the parametric loss L_u(N_nv, N_v, D)); their refits on the paper's own data (with the
official start-selection rule, leave-one-family-out intervals, and a predictor consistent with the
published fit's token units); the non-vocabulary / vocabulary parameters of public LLMs computed from
their configs; and a tiny IsoFLOP study (one run per point, trained to its budget, scored on held-out
character blocks for a paired bootstrap).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import fsolve

from lib.core import scaling_laws

# ---------------------------------------------------------------------------------------------------
# Published constants (sail-sg/scaling-with-vocab: optimal_Nv_predict.py and utils.py)

#: f(V) = a ln²V + b ln V + c tokens per character (SentencePiece BPE on SlimPajama); ln V capped at ln 2e5.
PAPER_F = (0.00639222, -0.15811069, 1.20470122)
F_V_CAP = 200_000
#: Approach 1: N_nv = e^K1 C^0.5, N_v = e^K2 C^alpha2, H = e^K3 C^0.5.
PAPER_A1 = {"K1": -2.4846510161625193, "K2": -1.589031299255507, "alpha2": 0.4163622634135234}
#: Approach 2: N_v = anchor (N_nv / 33M)^gamma, anchored at V = 6144, d = 512 for the 33M model.
PAPER_A2 = {"gamma": 0.8353974035228025, "anchor_Nv": 3145728, "anchor_Nnv": 33_000_000}
#: Approach 3: L_u = -E + A1/N_nv^alpha1 + A2/N_v^alpha2 + B/D^beta, N_nv and N_v in millions, D in
#: billions of tokens, C in 1e15 FLOPs.
PAPER_A3 = {"A1": 1.8313851559554126, "A2": 0.19584238398665638, "B": 2.1241123120064955,
            "E": 5.5327846803337435, "alpha1": 0.44660634152009615, "alpha2": 0.6707374679896795,
            "beta": 0.44660634152009615}
_NV_UNIT, _D_UNIT, _C_UNIT = 1e6, 1e9, 1e15

# N_nv → embedding width d: the paper's step table (upper bound of N_nv, d).
_D_TABLE = ((50e6, 512), (200e6, 768), (500e6, 1024), (1e9, 1536), (2e9, 2048), (5e9, 3200),
            (10e9, 4096), (20e9, 5120), (50e9, 6048), (100e9, 8192), (200e9, 12288), (500e9, 16384),
            (1e12, 20480))


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def nnv_to_d(n_nv: float) -> int:
    """Embedding width the paper assumes for a model with ``n_nv`` non-vocabulary parameters."""
    n_nv = _check_positive("n_nv", n_nv)
    for bound, d in _D_TABLE:
        if n_nv <= bound:
            return d
    return 24576


def tokens_per_char(vocab_size: np.ndarray | float, coeffs: Sequence[float] = PAPER_F) -> np.ndarray | float:
    """f(V) = a ln²V + b ln V + c: tokens per character of a BPE tokenizer with V entries (V capped at 2e5,
    past the parabola's minimum)."""
    a, b, c = coeffs
    lv = np.log(np.minimum(np.asarray(vocab_size, dtype=float), F_V_CAP))
    return a * lv ** 2 + b * lv + c


def training_flops(n_nv: float, vocab_size: float, d: float, tokens: float) -> float:
    """C = 6 (N_nv + V d) D: one V·d matrix is counted (the output layer; the input lookup is free)."""
    return 6.0 * (n_nv + vocab_size * d) * tokens


def compute_optimal_flops(n_nv: float) -> float:
    """The approach-1 compute-optimal budget of a model with ``n_nv`` parameters: C = (N_nv / e^K1)²."""
    return (_check_positive("n_nv", n_nv) / math.exp(PAPER_A1["K1"])) ** 2


# ---------------------------------------------------------------------------------------------------
# The three predictors (published constants): each returns the optimal vocabulary *parameters* N_v.

def approach1_isoflops(n_nv: float, params: dict = PAPER_A1) -> int:
    """Approach 1: N_v^opt = e^K2 C^alpha2 at the compute-optimal C = (N_nv / e^K1)^2."""
    flops = (_check_positive("n_nv", n_nv) / math.exp(params["K1"])) ** 2
    return int(math.exp(params["K2"]) * flops ** params["alpha2"])


def approach2_derivative(n_nv: float, params: dict = PAPER_A2) -> int:
    """Approach 2: N_v^opt = N_v^anchor (N_nv / N_nv^anchor)^gamma (a relative law; gamma from the
    derivative dC/dV = 0 at several N_nv, the level from the best vocabulary of the 33M model)."""
    n_nv = _check_positive("n_nv", n_nv)
    return int(params["anchor_Nv"] * (n_nv / params["anchor_Nnv"]) ** params["gamma"])


def approach3_dloss_dv(v: float, n_nv: float, d: float, flops: float, params: dict = PAPER_A3) -> float:
    """∂L_u/∂V of the approach-3 loss at fixed C, with D = C / (6 (N_nv + V d)); all in the fit's units
    (V and d in thousands, N_nv in millions, C in 1e15)."""
    a2, b, alpha2, beta = params["A2"], params["B"], params["alpha2"], params["beta"]
    u = flops / (6 * (n_nv + v * d))
    du_dv = flops * d / (6 * (n_nv + v * d) ** 2)
    return -alpha2 * a2 * d / (v * d) ** (alpha2 + 1) + beta * b * du_dv / u ** (beta + 1)


def approach3_parametric(n_nv: float, flops: float | None = None, params: dict = PAPER_A3) -> int:
    """Approach 3: the V that minimises L_u at budget ``flops`` (default: the compute-optimal budget),
    by fsolve of ∂L_u/∂V = 0 from V = 1000 as the official code does; returns N_v = V d."""
    n_nv = _check_positive("n_nv", n_nv)
    d = nnv_to_d(n_nv)
    flops = compute_optimal_flops(n_nv) if flops is None else _check_positive("flops", flops)
    v = fsolve(approach3_dloss_dv, 1.0, args=(n_nv / 1e6, d / 1e3, flops / _C_UNIT, params))[0]
    return int(v * 1000 * d)


def approach3_optimal_vocab(n_nv: float, d: float, flops: float, params: dict,
                            units: tuple[float, float] = (_NV_UNIT, _D_UNIT),
                            bounds: tuple[float, float] = (16.0, 1e7), *, as_fitted: bool = False,
                            f_coeffs: Sequence[float] = PAPER_F) -> float:
    """The V minimising the approach-3 loss A2/N_v^alpha2 + B/D^beta at budget C (D = C / (6 (N_nv + V d)),
    parameters counted in units[0], tokens in units[1]), by a bounded search over ln V: the unit-generic
    form used for refits at any scale (the official fsolve form is ``approach3_parametric``).

    ``as_fitted=True`` makes the predictor consistent with the published fit: that fit saw
    D = H f(V/1000) (see ``fit_approach3``), so the real tokens C / (6 (N_nv + V d)) = H f(V) are
    converted to the fit's, D = C f(V/1000) / (6 (N_nv + V d) f(V))."""
    from scipy.optimize import minimize_scalar
    n_nv, d, flops = (_check_positive(k, v) for k, v in (("n_nv", n_nv), ("d", d), ("flops", flops)))
    nu, du = units

    def loss(x: float) -> float:
        v = math.exp(x)
        tokens = flops / (6 * (n_nv + v * d)) / du
        if as_fitted:
            tokens *= float(tokens_per_char(v / 1000, f_coeffs) / tokens_per_char(v, f_coeffs))
        return params["A2"] / (v * d / nu) ** params["alpha2"] + params["B"] / tokens ** params["beta"]

    res = minimize_scalar(loss, bounds=(math.log(bounds[0]), math.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-6})
    return float(math.exp(res.x))


APPROACHES = {1: approach1_isoflops, 2: approach2_derivative, 3: approach3_parametric}


def optimal_vocab(n_nv: float, approach: int, flops: float | None = None) -> int:
    """Optimal vocabulary size V = int(N_v^opt / d) for ``approach`` 1, 2 or 3 (``flops`` only for 3)."""
    if approach not in APPROACHES:
        raise ValueError(f"approach must be 1, 2 or 3, got {approach!r}")
    if flops is not None and approach != 3:
        raise ValueError("only approach 3 takes a FLOPs budget (1 and 2 assume the compute-optimal one)")
    n_v = approach3_parametric(n_nv, flops) if approach == 3 else APPROACHES[approach](n_nv)
    return int(n_v / nnv_to_d(n_nv))


def prediction_table(n_nvs: Sequence[float] = (3e9, 7e9, 13e9, 30e9, 70e9, 130e9, 300e9)) -> pd.DataFrame:
    """The paper's Table 1: for each N_nv, d, the compute-optimal FLOPs and V^opt of the three approaches."""
    rows = []
    for n in n_nvs:
        rows.append({"N_nv": n, "d": nnv_to_d(n), "FLOPs": compute_optimal_flops(n),
                     **{f"V_A{k}": optimal_vocab(n, k) for k in (1, 2, 3)}})
    return pd.DataFrame(rows)


def optimal_vocab_derivative(n_nv: float, d: float, coeffs: Sequence[float] = PAPER_F,
                             v0: float = 10_000.0) -> float:
    """Approach 2's raw optimum: the V minimising the FLOPs to process a fixed number of characters H,
    C(V) = 6 (N_nv + V d) H f(V), i.e. the root of d f(V) + (N_nv + V d) f'(V) = 0 with
    f'(V) = (2a ln V + b) / V."""
    a, b, _ = coeffs
    n_nv, d = _check_positive("n_nv", n_nv), _check_positive("d", d)

    def g(x: np.ndarray) -> np.ndarray:        # solve in x = ln V for a well-scaled root
        v = np.exp(x)
        return d * tokens_per_char(v, coeffs) + (n_nv + v * d) * (2 * a * x + b) / v

    x = fsolve(g, math.log(v0))[0]
    return float(math.exp(x))


# ---------------------------------------------------------------------------------------------------
# Metrics: tokens per character, unigram-normalised loss, bits per character

@dataclass(frozen=True)
class TokensPerCharFit:
    a: float
    b: float
    c: float
    r2: float

    @property
    def coeffs(self) -> tuple[float, float, float]:
        return (self.a, self.b, self.c)


def fit_tokens_per_char(vocab_sizes: Sequence[float], ratios: Sequence[float]) -> TokensPerCharFit:
    """Least-squares fit of f(V) = a ln²V + b ln V + c to measured tokens/character."""
    v = np.asarray(vocab_sizes, dtype=float)
    r = np.asarray(ratios, dtype=float)
    if v.shape != r.shape or v.ndim != 1 or len(v) < 3:
        raise ValueError("need at least 3 (vocab size, ratio) pairs of equal length")
    if np.any(v <= 1) or np.any(r <= 0):
        raise ValueError("vocab sizes must be > 1 and ratios > 0")
    lv = np.log(v)
    a, b, c = np.polyfit(lv, r, 2)
    return TokensPerCharFit(float(a), float(b), float(c),
                            scaling_laws.r_squared(r, a * lv ** 2 + b * lv + c))


def unigram_log_probs(token_ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """log p(w | V): token frequencies in ``token_ids`` (the tokenised training text); tokens never seen
    get count 1, as in the official code. Shape (vocab_size,)."""
    ids = np.asarray(token_ids, dtype=np.int64)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError("token_ids must be a non-empty 1-D array")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"token ids must lie in [0, {vocab_size})")
    counts = np.bincount(ids, minlength=vocab_size).astype(float)
    counts[counts == 0] = 1.0
    return np.log(counts / counts.sum())


def unigram_normalized_loss(logits, targets, log_p_uni) -> float:
    """L_u = -(1/T) Σ_t log[p(w_t | w_<t) / p(w_t | V)] in nats/token: the cross-entropy minus the
    unigram model's; logits (..., V) torch tensor, targets (...) int64, log_p_uni (V,) array or tensor.
    A model that predicts the unigram distribution scores 0; better models score below 0."""
    import torch
    import torch.nn.functional as F
    log_p_uni = torch.as_tensor(log_p_uni, dtype=torch.float32, device=logits.device)
    if logits.shape[-1] != log_p_uni.shape[0]:
        raise ValueError(f"logits have {logits.shape[-1]} classes, log_p_uni {log_p_uni.shape[0]}")
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="mean")
    return float(ce + log_p_uni[targets.reshape(-1)].mean())


def bits_per_char(total_nll_nats: float, n_chars: int) -> float:
    """BPC = total negative log-likelihood (nats) / (characters · ln 2)."""
    if n_chars <= 0:
        raise ValueError(f"n_chars must be > 0, got {n_chars}")
    return float(total_nll_nats) / (n_chars * math.log(2))


# ---------------------------------------------------------------------------------------------------
# Refits on the paper's data (exp_data.csv: vocab_size, embed_dim, num_characters, Non_vocab_parameters,
# FLOPs, Lossu)

def _geomspace(values: np.ndarray, num: int) -> np.ndarray:
    return np.logspace(np.log10(values.min()), np.log10(values.max()), num)


#: Tokens of one epoch per model family of exp_data.csv, smallest family first (utils.py: max_D_list).
FAMILY_MAX_TOKENS = (1.2e9, 3.0e9, 5.3e9, 11.7e9, 27.7e9, 54.8e9)


def densify_isoflop_data(df: pd.DataFrame, f_coeffs: Sequence[float] = PAPER_F,
                         max_tokens: Sequence[float] = FAMILY_MAX_TOKENS) -> pd.DataFrame:
    """The official approach-1 interpolation: per V a cubic interpolation of L_u over (N_nv, H) on a
    50-point log grid, per model family a quadratic interpolation (and extrapolation) over V at the last
    checkpoint on a 20-point log grid; returns the original rows plus the interpolated ones (column
    ``interpolated``). Rows must be ordered (family, V, checkpoint) as in exp_data.csv."""
    from scipy.interpolate import griddata, interp1d
    n_v = df["vocab_size"].nunique()
    n_m = df["Non_vocab_parameters"].nunique()
    n_e = len(df) // (n_v * n_m)
    if n_v * n_m * n_e != len(df):
        raise ValueError("data is not a full (family × vocabulary × checkpoint) grid")
    if len(max_tokens) != n_m:
        raise ValueError(f"max_tokens needs one entry per model family ({n_m}), got {len(max_tokens)}")
    cols = ["Non_vocab_parameters", "num_characters", "vocab_size", "Lossu"]
    nnv, h, v, loss = (df[c].to_numpy(float).reshape(n_m, n_v, n_e) for c in cols)

    def flops(n: float, hh: float, vv: float) -> float:
        return 6 * (n + vv * nnv_to_d(n)) * hh * float(tokens_per_char(vv, f_coeffs))

    rows = []
    new_nnv, new_h = _geomspace(np.unique(nnv), 50), _geomspace(np.unique(h), 50)
    for j in range(n_v):
        pts = np.column_stack([nnv[:, j, :].ravel(), h[:, j, :].ravel()])
        new_l = griddata(pts, loss[:, j, :].ravel(), np.column_stack([new_nnv, new_h]), method="cubic")
        for n, hh, ll in zip(new_nnv, new_h, new_l):
            if np.isfinite(ll):
                rows.append((n, hh, v[0, j, 0], flops(n, hh, v[0, j, 0]), ll))
    new_v = _geomspace(np.unique(v), 20)
    for i in range(n_m):
        fn = interp1d(v[i, :, 0], loss[i, :, -1], kind="quadratic", fill_value="extrapolate")
        for vv, ll in zip(new_v, fn(new_v)):
            hh = max_tokens[i] / float(tokens_per_char(vv, f_coeffs))
            rows.append((nnv[i, 0, 0], hh, vv, flops(nnv[i, 0, 0], hh, vv), float(ll)))
    extra = pd.DataFrame(rows, columns=["Non_vocab_parameters", "num_characters", "vocab_size", "FLOPs", "Lossu"])
    base = df[["Non_vocab_parameters", "num_characters", "vocab_size", "FLOPs", "Lossu"]].assign(interpolated=False)
    return pd.concat([base, extra.assign(interpolated=True)], ignore_index=True)


@dataclass(frozen=True)
class Approach1Fit:
    nnv: scaling_laws.PowerLaw      # N_nv^opt(C), exponent fixed at 0.5
    nv: scaling_laws.PowerLaw       # N_v^opt(C)
    h: scaling_laws.PowerLaw        # H^opt(C), exponent fixed at 0.5
    envelope: pd.DataFrame          # the points on the lowest-loss frontier

    @property
    def params(self) -> dict:
        return {"K1": self.nnv.log_k, "K2": self.nv.log_k, "alpha2": self.nv.exponent}


def fit_approach1(df: pd.DataFrame, *, interpolate: bool = True, select: str = "mse",
                  max_tokens: Sequence[float] = FAMILY_MAX_TOKENS) -> Approach1Fit:
    """Approach 1 on exp_data-style rows: (optionally densify; ``max_tokens`` per family as in
    ``densify_isoflop_data``), take the IsoFLOP envelope (each point that lowers the best L_u so far in
    order of FLOPs) and fit N_nv, N_v = V·d(N_nv), H against C with Huber power laws (N_nv and H
    exponents fixed at 0.5, as the paper does), keeping the start with the lowest mean squared log
    residual (``select="mse"``, the official code's rule) or the lowest Huber objective ("objective")."""
    data = densify_isoflop_data(df, max_tokens=max_tokens) if interpolate else df.assign(interpolated=False)
    env = data.iloc[scaling_laws.isoflop_envelope(data["FLOPs"].to_numpy(), data["Lossu"].to_numpy())].copy()
    env["N_v"] = [v * nnv_to_d(n) for v, n in zip(env["vocab_size"], env["Non_vocab_parameters"])]
    c = env["FLOPs"].to_numpy()
    def fit(y: pd.Series, exponent: float | None = None) -> scaling_laws.PowerLaw:
        return scaling_laws.fit_power_law(c, y.to_numpy(float), exponent=exponent, select=select)
    return Approach1Fit(fit(env["Non_vocab_parameters"], 0.5), fit(env["N_v"]),
                        fit(env["num_characters"], 0.5), env)


def approach1_vocab(n_nv: float, params: dict) -> float:
    """Approach 1's optimal V = e^K2 C^alpha2 / d at the budget C = (N_nv / e^K1)² of ``params``."""
    return approach1_isoflops(n_nv, params) / nnv_to_d(n_nv)


def approach1_leave_one_family_out(df: pd.DataFrame, *, interpolate: bool = True, select: str = "mse",
                                   n_nv: float = 70e9) -> pd.DataFrame:
    """Approach 1 refitted once per model family of exp_data.csv with that family left out; one row per
    left-out family: its N_nv, the refit's K1, K2, alpha2 and its optimal V at ``n_nv``."""
    families = sorted(df["Non_vocab_parameters"].unique())
    if len(families) != len(FAMILY_MAX_TOKENS):
        raise ValueError(f"expected the {len(FAMILY_MAX_TOKENS)} families of exp_data.csv, got {len(families)}")
    rows = []
    for i, fam in enumerate(families):
        rest = df[df["Non_vocab_parameters"] != fam]
        tokens = FAMILY_MAX_TOKENS[:i] + FAMILY_MAX_TOKENS[i + 1:]
        p = fit_approach1(rest, interpolate=interpolate, select=select, max_tokens=tokens).params
        rows.append({"left_out_N_nv": fam, **p, "V_opt": approach1_vocab(n_nv, p)})
    return pd.DataFrame(rows)


def approach3_loss(params: np.ndarray, n_nv: np.ndarray, n_v: np.ndarray, tokens: np.ndarray,
                   e_sign: float = -1.0) -> np.ndarray:
    """L_u = -e^e + e^a1/N_nv^beta + e^a2/N_v^alpha2 + e^b/D^beta for params (a1, a2, b, e, alpha2, beta)
    (alpha1 = beta), inputs in the fit's units; ``e_sign=+1`` for a positive floor (e.g. bits/char)."""
    a1, a2, b, e, alpha2, beta = params
    return (np.exp(a1 - beta * np.log(n_nv)) + np.exp(a2 - alpha2 * np.log(n_v))
            + np.exp(b - beta * np.log(tokens)) + e_sign * np.exp(e))


def approach3_grid() -> list[list[float]]:
    """The official 486 starts: a1, a2, b ∈ linspace(0,5,3); e ∈ {0,2}; alpha2, beta ∈ linspace(0,1,3)."""
    g5, g1 = np.linspace(0, 5, 3), np.linspace(0, 1, 3)
    return [[a1, a2, b, e, al, be] for a1 in g5 for a2 in g5 for b in g5 for e in (0.0, 2.0)
            for al in g1 for be in g1]


def _a3_params(p: Sequence[float]) -> dict:
    a1, a2, b, e, alpha2, beta = p
    return {"A1": math.exp(a1), "A2": math.exp(a2), "B": math.exp(b), "E": math.exp(e),
            "alpha1": float(beta), "alpha2": float(alpha2), "beta": float(beta)}


@dataclass(frozen=True)
class Approach3Fit:
    params: dict          # A1, A2, B, E, alpha1, alpha2, beta
    r2: float
    objective: float
    n_points: int
    converged: bool
    near_optimal: tuple[dict, ...]   # other accepted fits within 0.1 % of the lowest objective
    lowest_objective: dict           # the accepted start with the lowest Huber objective (the other rule)


def fit_approach3(df: pd.DataFrame, *, consistent_units: bool = True, min_flops: float = 2.18e17,
                  starts: Sequence[Sequence[float]] | None = None,
                  f_coeffs: Sequence[float] = PAPER_F, units: tuple[float, float] = (_NV_UNIT, _D_UNIT),
                  loss_column: str = "Lossu", e_sign: float = -1.0,
                  exponent_bounds: tuple[float, float] = (0.1, 1.0), select: str = "mse") -> Approach3Fit:
    """Approach 3 on exp_data-style rows with C ≥ ``min_flops``: Huber(δ=1e-3) fit of the parametric L_u
    (alpha1 = beta, exponents kept in (0.1, 1)) from ``starts`` (default: the official grid).

    Tokens: D = H f(V). The official script evaluates f at V/1000 (V was already rescaled to thousands),
    which makes its "D" ≈ H, i.e. characters, while its predictor uses real tokens D = C/(6N);
    ``consistent_units=False`` reproduces that, ``True`` uses f(V) at the true V. Optional column
    ``tokens`` (real token counts, e.g. from our own runs) overrides H f(V). ``loss_column``, ``e_sign``
    and ``exponent_bounds`` (the paper's (0.1, 1)) let the same form be fitted to other losses.
    ``select``: which start to keep, the lowest mean squared residual ("mse", the official code's
    "relative MSE" rule) or the lowest Huber objective ("objective"); see ``fit_parametric``."""
    data = df[df["FLOPs"] >= min_flops]
    if len(data) < 6:
        raise ValueError(f"need at least 6 points with FLOPs >= {min_flops:g}, got {len(data)}")
    nv_unit, d_unit = units
    v = data["vocab_size"].to_numpy(float)
    n_nv = data["Non_vocab_parameters"].to_numpy(float) / nv_unit
    n_v = v * data["embed_dim"].to_numpy(float) / nv_unit
    if "tokens" in data:
        tokens = data["tokens"].to_numpy(float) / d_unit
    elif consistent_units:
        tokens = data["num_characters"].to_numpy(float) * tokens_per_char(v, f_coeffs) / d_unit
    else:
        tokens = data["num_characters"].to_numpy(float) / d_unit * tokens_per_char(v / 1000, f_coeffs)
    y = data[loss_column].to_numpy(float)
    lo, hi = exponent_bounds
    fit = scaling_laws.fit_parametric(lambda p: approach3_loss(p, n_nv, n_v, tokens, e_sign), y,
                                      approach3_grid() if starts is None else starts,
                                      accept=lambda p: lo < p[4] < hi and lo < p[5] < hi, select=select)
    return Approach3Fit(_a3_params(fit.params), fit.r2, fit.objective, len(y), fit.converged,
                        tuple(_a3_params(p) for p in fit.near_optimal(1e-3)),
                        _a3_params(min(fit.candidates, key=lambda c: c[1])[0]))


def paper_a3_start() -> list[float]:
    """The published approach-3 constants as an optimiser start (a1, a2, b, e, alpha2, beta)."""
    p = PAPER_A3
    return [math.log(p["A1"]), math.log(p["A2"]), math.log(p["B"]), math.log(p["E"]), p["alpha2"], p["beta"]]


# ---------------------------------------------------------------------------------------------------
# Public LLMs: (N_nv, N_v) from their configs

@dataclass(frozen=True)
class LLMConfig:
    """The config numbers of a decoder-only LLM (Hugging Face config.json names in comments)."""
    name: str
    vocab_size: int          # vocab_size
    d_model: int             # hidden_size
    n_layers: int            # num_hidden_layers
    d_ff: int                # intermediate_size (gated MLP: 3 matrices)
    n_heads: int             # num_attention_heads
    n_kv_heads: int          # num_key_value_heads
    head_dim: int | None = None   # head_dim (default d_model / n_heads)
    qkv_bias: bool = False   # Qwen2 has biases on q, k, v

    @property
    def n_nv(self) -> int:
        """Non-vocabulary parameters: attention, gated MLP and RMSNorms of every block, the final norm."""
        hd = self.head_dim or self.d_model // self.n_heads
        q, kv = self.n_heads * hd, self.n_kv_heads * hd
        attn = self.d_model * (q + 2 * kv) + q * self.d_model + ((q + 2 * kv) if self.qkv_bias else 0)
        mlp = 3 * self.d_model * self.d_ff
        norms = 2 * self.d_model
        return self.n_layers * (attn + mlp + norms) + self.d_model

    @property
    def n_v(self) -> int:
        """Vocabulary parameters as the paper counts them: one V × d matrix."""
        return self.vocab_size * self.d_model


#: Config numbers of the public models in the paper's Fig. 1 (right), from their config.json files.
PUBLIC_LLMS: tuple[LLMConfig, ...] = (
    LLMConfig("Llama2-7B", 32000, 4096, 32, 11008, 32, 32),
    LLMConfig("Llama2-13B", 32000, 5120, 40, 13824, 40, 40),
    LLMConfig("Llama2-70B", 32000, 8192, 80, 28672, 64, 8),
    LLMConfig("Mistral-7B", 32000, 4096, 32, 14336, 32, 8),
    LLMConfig("Llama3-8B", 128256, 4096, 32, 14336, 32, 8),
    LLMConfig("Llama3-70B", 128256, 8192, 80, 28672, 64, 8),
    LLMConfig("Gemma2-2B", 256000, 2304, 26, 9216, 8, 4, head_dim=256),
    LLMConfig("Gemma2-9B", 256000, 3584, 42, 14336, 16, 8, head_dim=256),
    LLMConfig("Gemma2-27B", 256000, 4608, 46, 36864, 32, 16, head_dim=128),
    LLMConfig("Qwen2-7B", 152064, 3584, 28, 18944, 28, 4, qkv_bias=True),
    LLMConfig("Qwen2-72B", 152064, 8192, 80, 29568, 64, 8, qkv_bias=True),
)


# ---------------------------------------------------------------------------------------------------
# A tiny IsoFLOP study in which every point is its own run, trained to its budget (cosine decay ending
# at the budget, Chinchilla's protocol), scored on held-out text cut into fixed character blocks so
# that every tokenizer is scored on the same text and the blocks can be resampled (paired bootstrap).

def tiny_llama_flops_per_token(*, d_model: int, n_layers: int, vocab_size: int, seq_len: int,
                               head_dim: int) -> float:
    """Training FLOPs per token of ``lib.core.models.tiny_llama`` (tied embeddings: the input lookup is
    free, the LM head costs 2·V·d per token forward), counted by ``lib.core.flops``."""
    from lib.core import flops
    if d_model % head_dim:
        raise ValueError(f"d_model ({d_model}) must be a multiple of head_dim ({head_dim})")
    return flops.llama_flops(d_model=d_model, n_layers=n_layers, vocab_size=vocab_size, seq_len=seq_len,
                             n_heads=d_model // head_dim).training


@dataclass(frozen=True)
class HeldOutBlocks:
    """Held-out text cut into blocks of characters and tokenised block by block: windows (W, seq_len)
    of token ids (scored positions in ``mask``), the block of each window, and per block the number of
    scored characters (all but those of its first token, which has no context), of scored tokens, and
    the unigram model's NLL of the scored tokens in nats (for L_u; 0 without ``log_p_uni``)."""
    windows: np.ndarray
    mask: np.ndarray
    block: np.ndarray
    n_chars: np.ndarray
    n_tokens: np.ndarray
    unigram_nll: np.ndarray


def heldout_blocks(tokenizer, text: str, *, block_chars: int, seq_len: int,
                   log_p_uni: np.ndarray | None = None) -> HeldOutBlocks:
    """Cut ``text`` into consecutive blocks of ``block_chars`` characters, tokenise each, and cover each
    block by windows of ``seq_len`` tokens overlapping by one (each token but the block's first is
    predicted once; the last window of a block is padded and masked). ``log_p_uni`` (V,): the unigram
    log-probabilities of ``unigram_log_probs``."""
    if block_chars < 1 or seq_len < 2:
        raise ValueError(f"block_chars must be >= 1 and seq_len >= 2, got {block_chars}, {seq_len}")
    blocks = [text[i:i + block_chars] for i in range(0, len(text) - block_chars + 1, block_chars)]
    if not blocks:
        raise ValueError(f"text ({len(text)} characters) is shorter than one block ({block_chars})")
    wins, masks, owner, n_chars, n_tok, uni = [], [], [], [], [], []
    step = seq_len - 1
    for b, chunk in enumerate(blocks):
        ids = np.asarray(tokenizer.backend_tokenizer.encode(chunk, add_special_tokens=False).ids, dtype=np.int64)
        n_chars.append(len(chunk) - len(tokenizer.decode(ids[:1])))
        n_tok.append(len(ids) - 1)
        uni.append(0.0 if log_p_uni is None else -float(np.asarray(log_p_uni)[ids[1:]].sum()))
        for s in range(0, len(ids) - 1, step):
            w = ids[s:s + seq_len]
            m = np.zeros(seq_len, dtype=bool)
            m[1:len(w)] = True
            wins.append(np.pad(w, (0, seq_len - len(w))))
            masks.append(m)
            owner.append(b)
    return HeldOutBlocks(np.stack(wins), np.stack(masks), np.asarray(owner), np.asarray(n_chars, dtype=float),
                         np.asarray(n_tok, dtype=float), np.asarray(uni))


def block_nll(model, held: HeldOutBlocks, *, batch_size: int = 64) -> np.ndarray:
    """Total next-token NLL (nats) of a causal LM on each held-out block; shape (n_blocks,)."""
    import torch
    import torch.nn.functional as F
    device = next(model.parameters()).device
    out = np.zeros(len(held.n_chars))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for s in range(0, len(held.windows), batch_size):
            x = torch.as_tensor(held.windows[s:s + batch_size], device=device)
            m = torch.as_tensor(held.mask[s:s + batch_size, 1:], device=device)
            logits = model(input_ids=x[:, :-1]).logits.float()
            nll = F.cross_entropy(logits.transpose(1, 2), x[:, 1:], reduction="none")
            np.add.at(out, held.block[s:s + batch_size], (nll * m).sum(1).cpu().numpy())
    model.train(was_training)
    return out


def train_to_budget(train_ids: np.ndarray, held: HeldOutBlocks, *, vocab_size: int, d_model: int,
                    budget: float, n_layers: int = 2, head_dim: int = 16, batch_size: int = 16,
                    seq_len: int = 64, lr: float = 3e-3, min_lr_ratio: float = 0.1, seed: int = 0
                    ) -> tuple[dict, np.ndarray]:
    """Train a tiny Llama (tied embeddings) for ``budget`` training FLOPs (``tiny_llama_flops_per_token``
    × tokens, rounded to whole steps) with warm-up and a cosine decay that ends at the budget, then score
    it on ``held``. Returns a row (V, d, N_nv, N_v, steps, tokens, FLOPs, bpc over all blocks) and the
    per-block NLL in nats."""
    import torch
    from lib.core import models, train
    fpt = tiny_llama_flops_per_token(d_model=d_model, n_layers=n_layers, vocab_size=vocab_size, seq_len=seq_len,
                                     head_dim=head_dim)
    steps = max(1, round(budget / (fpt * batch_size * seq_len)))
    torch.manual_seed(seed)
    model = models.tiny_llama(vocab_size, d_model=d_model, n_layers=n_layers, n_heads=d_model // head_dim,
                              max_len=seq_len)
    cfg = train.TrainConfig(steps=steps, lr=lr, warmup=max(1, steps // 10), min_lr_ratio=min_lr_ratio)
    train.train(model, train.lm_batches(train_ids, batch_size, seq_len, seed), cfg, progress=False)
    nll = block_nll(model, held)
    tokens = steps * batch_size * seq_len
    row = {"V": vocab_size, "d": d_model, "N_nv": models.n_params(model, non_embedding=True),
           "N_v": vocab_size * d_model, "steps": steps, "tokens": tokens, "FLOPs": fpt * tokens,
           "bpc": bits_per_char(nll.sum(), int(held.n_chars.sum()))}
    return row, nll


def bootstrap_weights(n_blocks: int, n_boot: int, seed: int) -> np.ndarray:
    """Multinomial resampling weights of held-out blocks, shape (n_boot, n_blocks); row 0 is all ones
    (the full set)."""
    rng = np.random.default_rng(seed)
    w = rng.multinomial(n_blocks, np.full(n_blocks, 1 / n_blocks), size=n_boot).astype(float)
    w[0] = 1.0
    return w


def refined_vopt(vocab_sizes: Sequence[float], bpc: np.ndarray) -> np.ndarray:
    """``scaling_laws.refined_argmin`` over V for each row of ``bpc`` (shape (n, len(vocab_sizes)))."""
    return np.array([scaling_laws.refined_argmin(vocab_sizes, row) for row in np.atleast_2d(bpc)])
