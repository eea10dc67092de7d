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
    every k (``hamiltonian.dense``), padded plane waves pushed to +10⁴ Ha so they sort last."""
    import jax
    import jax.numpy as jnp
    from lib.dft import hamiltonian
    args = [jnp.asarray(a) for a in (hamiltonian.difference_table(basis), basis.mask, basis.kin, basis.proj,
                                     basis.dproj, np.where(basis.mask, 0.0, 1e4))]

    @jax.jit
    def diagonalise(n, table, mask, kin, proj, dproj, pad):
        # the (K, P, P) table is an argument, not a closure constant: XLA would fold it into the program
        h = hamiltonian.dense(hamiltonian.veff(basis, n, xc), table, mask, kin, proj, dproj)
        return jnp.linalg.eigh(h + jax.vmap(jnp.diag)(pad))
    return lambda n: diagonalise(n, *args)


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
