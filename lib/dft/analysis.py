"""Self-diagonalisation diagnostics (Li et al. 2024, arXiv:2411.05033, stationarity conditions):

    h_ij(k) = ⟨ψ_ik| Ĥ_KS[n] |ψ_jk⟩,      [γ(k), h(k)]_ij = (f_i − f_j) h_ij   → 0,
    f_ik = 1/(1 + e^{(ε_ik − μ)/T}) with ε_ik = h_ii(k)    (Fermi–Dirac at the optimum),

plus Rayleigh–Ritz (eigenvalues of h(k)) and exact diagonalisation, all with the one H of ``hamiltonian``."""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from lib.dft import hamiltonian
from lib.dft.basis import Basis
from lib.dft.occupation import fermi_dirac
from lib.dft.units import float64


@float64
def subspace_hamiltonian(basis: Basis, c, n, xc: str = "lda") -> np.ndarray:
    """h(k) = C_kᴴ H_KS[n] C_k for every k: (K, I, I) complex, Ha. ``c`` (K, P, I), ``n`` the density."""
    import jax.numpy as jnp
    return np.asarray(hamiltonian.subspace(basis, hamiltonian.veff(basis, jnp.asarray(n), xc), jnp.asarray(c)))


def commutator_norm(h: np.ndarray, f: np.ndarray) -> float:
    """‖[F, h]‖/‖h‖ over all k (Frobenius), with F = diag(f): [F, h]_ij = (f_i − f_j) h_ij."""
    h, f = np.asarray(h), np.asarray(f)
    return float(np.linalg.norm(h * (f[:, :, None] - f[:, None, :])) / np.linalg.norm(h))


def offdiag_max(h: np.ndarray, f: np.ndarray, df_min: float = 0.05) -> float:
    """max |h_ij(k)| (Ha) over pairs whose occupations differ by more than ``df_min``."""
    h, f = np.asarray(h), np.asarray(f)
    sel = np.abs(f[:, :, None] - f[:, None, :]) > df_min
    return float(np.abs(h)[sel].max()) if sel.any() else 0.0


def band_energies(h: np.ndarray) -> np.ndarray:
    """ε_ik = Re h_ii(k), (K, I) Ha: the paper's orbital energies at the optimum (no diagonalisation)."""
    return np.real(np.einsum("kii->ki", np.asarray(h)))


def fit_fermi_level(eps: np.ndarray, f: np.ndarray, temperature: float) -> float:
    """μ (Ha) such that Σ FD(ε; μ, T) = Σ f over all states (equal k-weights)."""
    eps, f = np.ravel(eps), np.ravel(f)
    return float(brentq(lambda m: fermi_dirac(eps, m, temperature).sum() - f.sum(), eps.min() - 1, eps.max() + 1))


def fd_deviation(eps: np.ndarray, f: np.ndarray, mu: float, temperature: float) -> float:
    """max |f − FD(ε; μ, T)| over all states."""
    return float(np.abs(np.ravel(f) - fermi_dirac(np.ravel(eps), mu, temperature)).max())


def rayleigh_ritz(h: np.ndarray) -> np.ndarray:
    """Eigenvalues of each h(k), ascending: (K, I) Ha."""
    return np.linalg.eigvalsh(np.asarray(h))


@float64
def exact_bands(basis: Basis, n, n_bands: int, xc: str = "lda") -> np.ndarray:
    """Lowest ``n_bands`` eigenvalues of the dense H_KS[n] at every k of ``basis``: (K, n_bands) Ha."""
    import jax.numpy as jnp
    v = hamiltonian.veff(basis, jnp.asarray(n), xc)
    return np.array([np.linalg.eigvalsh(hamiltonian.dense_k(basis, v, k))[:n_bands] for k in range(len(basis.kpts))])


def match_kpoints(kpts: np.ndarray, ref_kpts: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """For each of our k-points (K, 3), the index of the reference k equal to it modulo a reciprocal
    lattice vector (both Cartesian bohr⁻¹). Raises ValueError if one has no match."""
    frac = lambda v: np.asarray(v) @ np.asarray(cell).T / (2 * np.pi)
    out = []
    for k in frac(kpts):
        d = frac(ref_kpts) - k
        dist = np.linalg.norm(d - np.round(d), axis=1)
        j = int(np.argmin(dist))
        if dist[j] > 2e-3:   # QE prints k to 4 decimals
            raise ValueError(f"k-point {k} (fractional) has no match in the reference set")
        out.append(j)
    return np.array(out)


def compare_with_qe(basis: Basis, result, ref: dict, temp: float, df_min: float = 0.05) -> dict:
    """The chapter's metrics for a direct-minimisation ``result`` against a parsed QE SCF ``ref``:
    ΔF (mHa), μ from the Fermi–Dirac fit vs QE's E_F (eV, meV), max |f − FD|, max off-diagonal |h_ij|
    for |f_i − f_j| > ``df_min`` (meV), commutator norm at start and end, and the Rayleigh–Ritz error
    (meV) of the occupied states (QE occupation > 0.99) and of all states below E_F."""
    from lib.dft.units import HARTREE_EV
    eps = band_energies(result.h)
    mu = fit_fermi_level(eps, result.f, temp)
    ours = rayleigh_ritz(result.h) * HARTREE_EV
    perm = match_kpoints(basis.kpts, np.asarray(ref["kpts"]), basis.crystal.cell)
    qe_eigs = np.asarray(ref["eigs_ev"])[perm][:, :ours.shape[1]]
    f_qe = fermi_dirac(qe_eigs / HARTREE_EV, ref["fermi_ev"] / HARTREE_EV, temp)
    err = np.abs(ours - qe_eigs) * 1000
    comm = result.history["comm"]
    return {
        "dF_mHa": 1000 * abs(result.free_energy - ref["F_ha"]),
        "mu_ev": mu * HARTREE_EV, "fermi_qe_ev": ref["fermi_ev"],
        "dmu_meV": 1000 * abs(mu * HARTREE_EV - ref["fermi_ev"]),
        "fd_max": fd_deviation(eps, result.f, mu, temp),
        "offdiag_meV": 1000 * HARTREE_EV * offdiag_max(result.h, result.f, df_min),
        "comm_start": float(comm[0]), "comm_end": float(comm[-1]), "comm_drop": float(comm[0] / comm[-1]),
        "rr_occupied_meV": float(err[f_qe > 0.99].max()),
        "rr_below_fermi_meV": float(err[f_qe > 0.5].max()),
    }
