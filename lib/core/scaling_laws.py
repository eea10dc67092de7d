"""Scaling-law fits shared by the chapters: power laws y = k·x^a fitted in log space (Huber loss with
L-BFGS-B from a grid of starts, as Chinchilla and its successors do, or plain least squares), the
IsoFLOP envelope (the lowest loss reached at or below each compute budget), parabola-in-log-x minima of
IsoFLOP curves, and a multi-start Huber fit of any parametric loss L(θ; x).

Nothing here knows about a particular paper: the paper modules pass arrays in and read numbers out.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber


@dataclass(frozen=True)
class PowerLaw:
    """y = exp(log_k)·x^exponent, fitted on ``n`` points with R² ``r2`` (in log space)."""
    log_k: float
    exponent: float
    r2: float
    n: int

    @property
    def k(self) -> float:
        return float(np.exp(self.log_k))

    def __call__(self, x: np.ndarray | float) -> np.ndarray | float:
        return np.exp(self.log_k) * np.asarray(x, dtype=float) ** self.exponent

    def inverse(self, y: np.ndarray | float) -> np.ndarray | float:
        """The x at which the law reaches ``y``."""
        return (np.asarray(y, dtype=float) / np.exp(self.log_k)) ** (1.0 / self.exponent)


def _positive(name: str, a: np.ndarray | Sequence[float]) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be finite and > 0 (power laws are fitted in log space)")
    return a


def r_squared(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Coefficient of determination of predictions ``y_hat`` for ``y``."""
    y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
    ss_res = float(np.sum((y - y_hat) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def fit_power_law(x: np.ndarray | Sequence[float], y: np.ndarray | Sequence[float], *,
                  exponent: float | None = None, loss: str = "huber", delta: float = 1e-3,
                  select: str = "objective") -> PowerLaw:
    """Fit log y = log_k + a·log x. With ``exponent`` given, only log_k is fitted (Chinchilla's fixed
    0.5). ``loss="huber"``: sum of Huber(δ) residuals, L-BFGS-B from a 20×20 grid of starts (the
    scaling-with-vocab code's recipe); ``loss="lsq"``: ordinary least squares.

    With δ far below the residuals Huber is nearly L1 and L-BFGS-B stops at different points from
    different starts; ``select="objective"`` keeps the lowest Huber objective, ``select="mse"`` the
    lowest mean squared log residual (what the scaling-with-vocab code does)."""
    lx, ly = np.log(_positive("x", x)), np.log(_positive("y", y))
    if len(lx) != len(ly):
        raise ValueError(f"x and y differ in length: {len(lx)} vs {len(ly)}")
    need = 1 if exponent is not None else 2
    if len(lx) < need:
        raise ValueError(f"need at least {need} points, got {len(lx)}")
    if exponent is None and np.ptp(lx) == 0:
        raise ValueError("all x are equal: the exponent is not identifiable")
    if loss not in ("huber", "lsq"):
        raise ValueError(f"loss must be 'huber' or 'lsq', got {loss!r}")
    if select not in ("objective", "mse"):
        raise ValueError(f"select must be 'objective' or 'mse', got {select!r}")

    if loss == "lsq":
        if exponent is None:
            a, log_k = np.polyfit(lx, ly, 1)
        else:
            a, log_k = exponent, float(np.mean(ly - exponent * lx))
    else:
        def objective(p: np.ndarray) -> float:
            a_ = p[1] if exponent is None else exponent
            return float(np.sum(huber(delta, p[0] + a_ * lx - ly)))
        def mse(p: np.ndarray) -> float:
            a_ = p[1] if exponent is None else exponent
            return float(np.mean((p[0] + a_ * lx - ly) ** 2))
        best, best_score = None, np.inf
        starts_a = np.linspace(0, 1, 20) if exponent is None else [None]
        for k0 in np.linspace(-20, 15, 20):
            for a0 in starts_a:
                x0 = [k0] if a0 is None else [k0, a0]
                res = minimize(objective, x0, method="L-BFGS-B")
                score = res.fun if select == "objective" else mse(res.x)
                if score < best_score:
                    best, best_score = res, score
        log_k = float(best.x[0])
        a = float(best.x[1]) if exponent is None else float(exponent)
    return PowerLaw(float(log_k), float(a), r_squared(ly, log_k + a * lx), len(lx))


def isoflop_envelope(flops: np.ndarray | Sequence[float], loss: np.ndarray | Sequence[float]) -> np.ndarray:
    """Indices (into the inputs) of the points that set a new lowest loss when the points are taken in
    order of increasing compute: the compute-efficient frontier used by IsoFLOP approach 1."""
    flops, loss = np.asarray(flops, dtype=float), np.asarray(loss, dtype=float)
    if flops.shape != loss.shape or flops.ndim != 1 or len(flops) == 0:
        raise ValueError("flops and loss must be non-empty 1-D arrays of the same length")
    order = np.argsort(flops, kind="stable")
    keep, best = [], np.inf
    for i in order:
        if loss[i] < best:
            best = loss[i]
            keep.append(i)
    return np.array(keep, dtype=int)


@dataclass(frozen=True)
class Parabola:
    """loss ≈ c0 + c1·t + c2·t², t = ln x; the minimum at x_min (None when the curve opens downward)."""
    coeffs: tuple[float, float, float]
    x_min: float | None
    loss_min: float | None


def parabola_minimum(x: np.ndarray | Sequence[float], loss: np.ndarray | Sequence[float]) -> Parabola:
    """Fit a parabola to an IsoFLOP curve in log x (least squares) and return its minimum."""
    lx = np.log(_positive("x", x))
    loss = np.asarray(loss, dtype=float)
    if len(lx) != len(loss) or len(lx) < 3:
        raise ValueError("need at least 3 points (x, loss) of equal length for a parabola")
    c2, c1, c0 = np.polyfit(lx, loss, 2)
    if c2 <= 0:
        return Parabola((float(c0), float(c1), float(c2)), None, None)
    t = -c1 / (2 * c2)
    return Parabola((float(c0), float(c1), float(c2)), float(np.exp(t)), float(c0 + c1 * t + c2 * t * t))


@dataclass(frozen=True)
class ParametricFit:
    """The selected one of several L-BFGS-B starts: parameters, its Huber objective, its mean squared
    residual, R², whether that start converged, the number of starts, and every accepted (parameters,
    objective) for a look at how flat the optimum is."""
    params: np.ndarray
    objective: float
    r2: float
    converged: bool
    n_starts: int
    candidates: tuple[tuple[np.ndarray, float], ...] = ()
    mse: float = float("nan")

    def near_optimal(self, rel_tol: float = 1e-3) -> list[np.ndarray]:
        """Parameters of the accepted starts whose objective is within ``rel_tol`` of the lowest."""
        lowest = min((f for _, f in self.candidates), default=self.objective)
        return [p for p, f in self.candidates if f <= lowest * (1 + rel_tol)]


def fit_parametric(predict: Callable[[np.ndarray], np.ndarray], y: np.ndarray | Sequence[float],
                   starts: Sequence[Sequence[float]], *, delta: float = 1e-3,
                   accept: Callable[[np.ndarray], bool] | None = None,
                   select: str = "objective") -> ParametricFit:
    """Minimise Σ Huber_δ(predict(θ) − y) with L-BFGS-B from every start in ``starts``; of the results
    that ``accept(θ)`` allows (e.g. exponents in (0.1, 1)), keep the one with the lowest Huber objective
    (``select="objective"``) or the lowest mean squared residual (``select="mse"``: the
    scaling-with-vocab code's rule, its "relative MSE" MSE / mean(y)² ranks starts the same way).
    With δ far below the residuals Huber is nearly L1, its optimum is flat, and the two rules can pick
    different starts. Raises if no start is acceptable."""
    y = np.asarray(y, dtype=float)
    if len(starts) == 0:
        raise ValueError("need at least one start")
    if select not in ("objective", "mse"):
        raise ValueError(f"select must be 'objective' or 'mse', got {select!r}")

    def objective(p: np.ndarray) -> float:
        r = predict(p) - y
        v = float(np.sum(huber(delta, r)))
        return v if np.isfinite(v) else 1e30

    def mse(p: np.ndarray) -> float:
        v = float(np.mean((predict(p) - y) ** 2))
        return v if np.isfinite(v) else np.inf

    best, best_score, best_mse, candidates = None, np.inf, np.inf, []
    with np.errstate(all="ignore"):
        for s in starts:
            res = minimize(objective, np.asarray(s, dtype=float), method="L-BFGS-B")
            if accept is not None and not accept(res.x):
                continue
            candidates.append((np.asarray(res.x), float(res.fun)))
            m = mse(res.x)
            score = res.fun if select == "objective" else m
            if best is None or score < best_score:
                best, best_score, best_mse = res, score, m
    if best is None:
        raise RuntimeError("no start gave an acceptable fit")
    with np.errstate(all="ignore"):
        r2 = r_squared(y, predict(best.x))
    return ParametricFit(np.asarray(best.x), float(best.fun), r2, bool(best.success), len(starts),
                         tuple(candidates), best_mse)


def refined_min(x: np.ndarray | Sequence[float], loss: np.ndarray | Sequence[float]) -> tuple[float, float]:
    """The minimum (x*, loss*) of a sampled curve: the lowest point, refined by the parabola in log x
    through it and its two neighbours (the lowest point itself if it lies at either end of the sweep)."""
    x, loss = np.asarray(x, dtype=float), np.asarray(loss, dtype=float)
    if x.shape != loss.shape or x.ndim != 1 or len(x) == 0:
        raise ValueError("x and loss must be non-empty 1-D arrays of the same length")
    order = np.argsort(x)
    x, loss = x[order], loss[order]
    i = int(np.argmin(loss))
    if i == 0 or i == len(x) - 1:
        return float(x[i]), float(loss[i])
    p = parabola_minimum(x[i - 1:i + 2], loss[i - 1:i + 2])
    if p.x_min is None:
        return float(x[i]), float(loss[i])
    x_min = float(np.clip(p.x_min, x[i - 1], x[i + 1]))
    t = np.log(x_min)
    return x_min, float(p.coeffs[0] + p.coeffs[1] * t + p.coeffs[2] * t * t)


def refined_argmin(x: np.ndarray | Sequence[float], loss: np.ndarray | Sequence[float]) -> float:
    """The x of ``refined_min``."""
    return refined_min(x, loss)[0]
