"""The paper's occupation parameterisation (Li et al. 2024, arXiv:2411.05033, Sec. "Occupation
numbers"): one real matrix Y_occ (I·K × M) across all bands and k-points,

    V = QR(Y_occ),   f_ik = [V Λ Vᵀ]_{(i,k),(i,k)} = Σ_j Λ_j V²_{(i,k),j},

so 0 ≤ f ≤ 1 and Σ_ik f_ik = N·K exactly (electrons may move between k-points). With N·K an integer,
M = N·K and Λ = 1; for a fractional N·K (odd electron count, odd K, e.g. one-atom Al on 3×3×3)
M = ⌈N·K⌉ and Λ = diag(1, …, 1, N·K − ⌊N·K⌋) (the fractional form)."""
from __future__ import annotations

import math

import numpy as np


def n_columns(total: float) -> int:
    """Columns M of Y_occ for a total occupation ``total`` = N·K (electrons per spin × k-points)."""
    if total <= 0:
        raise ValueError(f"total occupation must be positive, got {total}")
    return int(math.ceil(total - 1e-9))


def occupations(y_occ, n_k: int, n_bands: int, total: float):
    """Occupations f (K, I) ∈ [0, 1] with Σ f = ``total`` from Y_occ (I·K, M) (jnp or numpy).

    Rows of Y_occ are band-major: row i·K + k belongs to band i at k-point k."""
    import jax.numpy as jnp
    m = n_columns(total)
    if y_occ.shape != (n_bands * n_k, m):
        raise ValueError(f"y_occ must have shape (n_bands*n_k, ceil(total)) = {(n_bands * n_k, m)}, "
                         f"got {tuple(y_occ.shape)}")
    if m > n_bands * n_k:
        raise ValueError(f"total {total} exceeds n_bands*n_k = {n_bands * n_k}: add bands")
    v = jnp.linalg.qr(y_occ, mode="reduced")[0]
    whole = math.floor(total + 1e-9)
    lam = jnp.where(jnp.arange(m) < whole, 1.0, total - whole)
    return jnp.sum(v ** 2 * lam, 1).reshape(n_bands, n_k).T


def fermi_dirac(eps: np.ndarray, mu: float, temperature: float) -> np.ndarray:
    """FD(ε) = 1/(1 + e^{(ε−μ)/T}), all in Ha (numpy, overflow-safe)."""
    x = np.clip((np.asarray(eps) - mu) / temperature, -700, 700)
    return 1.0 / (1.0 + np.exp(x))
