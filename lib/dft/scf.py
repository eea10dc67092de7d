"""The classical baseline: self-consistent field iteration with dense diagonalisation, Fermi–Dirac
occupations and linear density mixing. It minimises the same Mermin free energy A = E − TS as the direct
method (Li et al. 2024, arXiv:2411.05033), so it checks the functional independently of the optimiser:

    H_KS[n_in] c_ik = ε_ik c_ik,   f_ik = FD(ε_ik; μ, T) with 2 Σ_k w_k Σ_i f_ik = N_e,
    n_out = Σ_k w_k Σ_i 2 f_ik |ψ_ik|²,   n_in ← (1 − β) n_in + β n_out."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from lib.dft.basis import Basis
from lib.dft.energy import energy_terms, entropy
from lib.dft.occupation import fermi_dirac
from lib.dft.units import float64


@dataclass
class SCFResult:
    """SCF outcome: free energy ``free_energy`` (Ha) at the last iteration, eigenvalues ``eps`` (K, I) Ha,
    occupations ``f`` (K, I), Fermi level ``mu`` (Ha), ``density``, per-iteration ``history`` ("F" Ha,
    "dn" max density change), ``iterations``, ``converged`` and ``wall_s``."""
    free_energy: float
    eps: np.ndarray = field(repr=False)
    f: np.ndarray = field(repr=False)
    mu: float
    density: np.ndarray = field(repr=False)
    history: dict = field(repr=False)
    iterations: int
    converged: bool
    wall_s: float


def _dense_builder(basis: Basis, xc: str):
    """A jit-compiled map density → (eigenvalues (K, P), eigenvectors (K, P, P)) of the dense H_KS[n] at
    every k, padded plane waves pushed to +10⁴ Ha so they sort last."""
    import jax
    import jax.numpy as jnp
    from lib.dft.analysis import veff
    gi = np.stack(np.meshgrid(*[np.fft.fftfreq(g) * g for g in basis.grid], indexing="ij"), -1)
    mi = gi.reshape(-1, 3).round().astype(int)[basis.idx]                      # (K, P, 3)
    d = (mi[:, :, None, :] - mi[:, None, :, :]) % np.array(basis.grid)        # (K, P, P, 3)
    flat = jnp.asarray((d[..., 0] * basis.grid[1] + d[..., 1]) * basis.grid[2] + d[..., 2])
    both = jnp.asarray(basis.mask[:, :, None] & basis.mask[:, None, :])
    pad = jnp.asarray(np.where(basis.mask, 0.0, 1e4))
    kin, proj, dproj = (jnp.asarray(a) for a in (basis.kin, basis.proj, basis.dproj))

    @jax.jit
    def dense(n, flat, both, pad, kin, proj, dproj):
        # the (K, P, P) tables are arguments, not closure constants: XLA would fold them into the program
        vg = jnp.fft.fftn(veff(basis, n, xc)).ravel() / basis.n_grid
        h = jnp.where(both, vg[flat], 0)
        h = h + jnp.einsum("kjp,j,kjq->kpq", proj, dproj, jnp.conj(proj))
        h = h + jax.vmap(jnp.diag)(kin + pad)
        return jnp.linalg.eigh(h)
    return lambda n: dense(n, flat, both, pad, kin, proj, dproj)


@float64
def scf(basis: Basis, n_bands: int, temp: float, *, mixing: float = 0.4, max_iter: int = 60,
        tol: float = 1e-9, xc: str = "lda", verbose: bool = True) -> SCFResult:
    """Run SCF to |ΔF| < ``tol`` (Ha) between iterations and max |Δn| < 1e-7 bohr⁻³, or ``max_iter``."""
    import jax
    import jax.numpy as jnp
    if not 0 < mixing <= 1:
        raise ValueError(f"mixing must be in (0, 1], got {mixing}")
    if temp <= 0:
        raise ValueError(f"temp must be positive (Ha), got {temp}")
    diagonalise = _dense_builder(basis, xc)

    @jax.jit
    def free_and_density(c, f):
        terms, n_out = energy_terms(basis, c, f, xc)
        return sum(terms.values()) - temp * entropy(f, basis.wk), n_out

    n = np.full(basis.grid, basis.n_electrons / basis.volume)
    hist = {"F": [], "dn": []}
    t0 = time.time()
    converged = False
    for it in range(1, max_iter + 1):
        w, v = diagonalise(jnp.asarray(n))
        eps = np.asarray(w[:, :n_bands])
        c = v[:, :, :n_bands]
        mu = brentq(lambda m: 2 * np.sum(basis.wk[:, None] * fermi_dirac(eps, m, temp)) - basis.n_electrons,
                    eps.min() - 1, eps.max() + 1)
        f = fermi_dirac(eps, mu, temp)
        free, n_out = free_and_density(c, jnp.asarray(f))
        free, n_out = float(free), np.asarray(n_out)
        dn = float(np.abs(n_out - n).max())
        hist["F"].append(free)
        hist["dn"].append(dn)
        if verbose and (it % 5 == 0 or it == 1):
            print(f"iter {it:3d}  F {free:.10f} Ha  max|Δn| {dn:.1e}", flush=True)
        if it > 1 and abs(hist["F"][-1] - hist["F"][-2]) < tol and dn < 1e-7:
            converged = True
            break
        n = (1 - mixing) * n + mixing * n_out
    if verbose:
        print(f"SCF {'converged' if converged else 'stopped'} after {it} iterations, {time.time() - t0:.1f} s")
    return SCFResult(free, eps, f, float(mu), n, {k: np.asarray(v) for k, v in hist.items()}, it, converged,
                     time.time() - t0)
