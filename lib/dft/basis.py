"""Plane-wave basis: per-k cutoff spheres, the FFT grid, the local potential V_loc(G), the
Kleinman–Bylander projectors, and orbitals from the paper's unconstrained parameters.

Orbitals (Li et al. 2024, Eq. for ψ): ψ_ik(r) = Ω^{-1/2} Σ_{G∈S_k} c_ik(G) e^{i(k+G)·r},
S_k = {G : ½|k+G|² ≤ E_cut}, with C_k = Q of the reduced QR of an unconstrained Y_k, so C_kᴴ C_k = 1."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lib.dft.crystal import Crystal
from lib.dft.ewald import ewald
from lib.dft.upf import Pseudo, beta_of_q, vloc_of_q


def good_fft_size(n: int) -> int:
    """Smallest integer ≥ n whose prime factors are 2, 3 and 5."""
    m = max(int(n), 1)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def fft_grid(crystal: Crystal, ecut: float) -> tuple[int, int, int]:
    """The density FFT grid for a wave-function cutoff ``ecut`` (Ha): it holds the |G| ≤ 2√(2E_cut)
    sphere of the density, as QE chooses it (Si at 8 Ha: 20³; Al: 15³)."""
    gmax = 2 * np.sqrt(2 * ecut)
    return tuple(good_fft_size(2 * int(gmax * np.linalg.norm(a) / (2 * np.pi)) + 1) for a in crystal.cell)


@dataclass(frozen=True)
class Basis:
    """Everything the energy needs, as numpy arrays (Hartree units).

    ``kpts`` (K, 3) bohr⁻¹ and weights ``wk`` (K,); per-k plane waves ``idx`` (K, P) into the flattened
    FFT grid, ``mask`` (K, P), ``npw`` (K,), ``kin`` (K, P) = ½|k+G|²; ``g_vectors`` (n1, n2, n3, 3);
    ``vloc_g`` (n1, n2, n3) = Ω⁻¹ Σ_a e^{−iG·τ_a} v_a(|G|); projectors ``proj`` (K, J, P) with
    couplings ``dproj`` (J,); ``ewald`` the ion–ion energy; ``n_electrons`` per cell."""
    crystal: Crystal = field(repr=False)
    ecut: float
    grid: tuple[int, int, int]
    kpts: np.ndarray = field(repr=False)
    wk: np.ndarray = field(repr=False)
    idx: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    npw: np.ndarray = field(repr=False)
    kin: np.ndarray = field(repr=False)
    g_vectors: np.ndarray = field(repr=False)
    vloc_g: np.ndarray = field(repr=False)
    proj: np.ndarray = field(repr=False)
    dproj: np.ndarray = field(repr=False)
    ewald: float
    n_electrons: float

    @property
    def volume(self) -> float:
        return self.crystal.volume

    @property
    def n_grid(self) -> int:
        return int(np.prod(self.grid))


def _real_ylm(l: int, v: np.ndarray) -> np.ndarray:
    """Real spherical harmonics Y_lm(v̂), (..., 2l+1), in QE's order for l ≤ 2."""
    n = np.linalg.norm(v, axis=-1)
    u = v / np.where(n < 1e-12, 1.0, n)[..., None]
    x, y, z = u[..., 0], u[..., 1], u[..., 2]
    if l == 0:
        return np.full(v.shape[:-1] + (1,), 1 / np.sqrt(4 * np.pi))
    if l == 1:
        return np.sqrt(3 / (4 * np.pi)) * np.stack([z, x, y], -1)
    if l == 2:
        c = np.sqrt(15 / (4 * np.pi))
        return np.stack([np.sqrt(5 / (16 * np.pi)) * (3 * z ** 2 - 1), c * x * z, c * y * z,
                         c / 2 * (x ** 2 - y ** 2), c * x * y], -1)
    raise ValueError(f"projector angular momentum l must be 0, 1 or 2, got {l}")


def make_basis(crystal: Crystal, pseudos: dict[str, Pseudo], ecut: float, kpts: np.ndarray,
               grid: tuple[int, int, int] | None = None, weights: np.ndarray | None = None) -> Basis:
    """Build the plane-wave basis of ``crystal`` at cutoff ``ecut`` (Ha) for k-points ``kpts`` (K, 3)
    bohr⁻¹ (uniform weights 1/K unless given); ``grid`` defaults to :func:`fft_grid`."""
    if ecut <= 0:
        raise ValueError(f"ecut must be positive (Ha), got {ecut}")
    missing = sorted(set(crystal.species) - set(pseudos))
    if missing:
        raise ValueError(f"pseudos has no entry for species {missing}; given {sorted(pseudos)}")
    kpts = np.atleast_2d(np.asarray(kpts, float))
    grid = tuple(int(g) for g in (grid or fft_grid(crystal, ecut)))
    cell, pos, vol = crystal.cell, crystal.positions, crystal.volume
    m = np.stack(np.meshgrid(*[np.fft.fftfreq(g) * g for g in grid], indexing="ij"), -1)
    gvec = m @ crystal.reciprocal
    gflat = gvec.reshape(-1, 3)
    gmax_needed = 2 * np.sqrt(2 * ecut)
    for i, g in enumerate(grid):
        if g < 2 * int(gmax_needed * np.linalg.norm(cell[i]) / (2 * np.pi)) + 1:
            raise ValueError(f"grid {grid} too small for ecut={ecut} Ha; need at least {fft_grid(crystal, ecut)}")
    sets = [np.where(0.5 * np.sum((gflat + k) ** 2, 1) <= ecut)[0] for k in kpts]
    npw = np.array([len(s) for s in sets])
    K, P = len(kpts), int(npw.max())
    idx, mask = np.zeros((K, P), int), np.zeros((K, P), bool)
    for i, s in enumerate(sets):
        idx[i, :len(s)], mask[i, :len(s)] = s, True
    kg = gflat[idx] + kpts[:, None, :]
    kin = np.where(mask, 0.5 * np.sum(kg ** 2, -1), 0.0)
    # local potential on the grid
    gnorm = np.round(np.linalg.norm(gflat, axis=1), 10)
    uq, inv = np.unique(gnorm, return_inverse=True)
    vg = np.zeros(len(gflat), complex)
    for s in set(crystal.species):
        vq = vloc_of_q(pseudos[s], uq)[inv]
        for a, sa in enumerate(crystal.species):
            if sa == s:
                vg += vq * np.exp(-1j * gflat @ pos[a])
    vloc_g = (vg / vol).reshape(grid)
    # nonlocal projectors
    qn = np.round(np.linalg.norm(kg, axis=-1), 10)
    uq, inv = np.unique(qn.ravel(), return_inverse=True)
    projs, dvals = [], []
    for a, s in enumerate(crystal.species):
        pp = pseudos[s]
        if pp.dij.size and not np.allclose(pp.dij, np.diag(np.diag(pp.dij))):
            raise ValueError(f"pseudopotential of {s} has off-diagonal D_ij; only diagonal KB is supported")
        bq = beta_of_q(pp, uq)
        phase = np.exp(-1j * kg @ pos[a])
        for ib, (l, _, _) in enumerate(pp.betas):
            bl = bq[ib][inv].reshape(qn.shape)
            ylm = _real_ylm(l, kg)
            for mm in range(2 * l + 1):
                projs.append((-1j) ** l * bl * ylm[..., mm] * phase * mask / np.sqrt(vol))
                dvals.append(pp.dij[ib, ib])
    proj = np.stack(projs, 1) if projs else np.zeros((K, 0, P), complex)
    z = np.array([pseudos[s].z for s in crystal.species])
    wk = np.full(K, 1.0 / K) if weights is None else np.asarray(weights, float)
    return Basis(crystal, float(ecut), grid, kpts, wk, idx, mask, npw, kin, gvec, vloc_g, proj,
                 np.array(dvals, float), float(ewald(cell, pos, z)), float(z.sum()))


def orbitals(basis: Basis, y):
    """Orthonormal plane-wave coefficients C (K, P, I) = QR(Y) per k; padded rows stay zero (jnp)."""
    import jax
    import jax.numpy as jnp
    y = jnp.where(jnp.asarray(basis.mask)[:, :, None], y, 0)
    return jax.vmap(lambda a: jnp.linalg.qr(a, mode="reduced")[0])(y)


def to_real_space(basis: Basis, c):
    """ψ on the FFT grid, (K, I, n1, n2, n3), from coefficients C (K, P, I) (jnp; ∫|ψ|² = 1 over Ω)."""
    import jax.numpy as jnp
    K, P, nb = c.shape
    n = basis.n_grid
    box = jnp.zeros((K, nb, n), c.dtype)
    box = box.at[jnp.arange(K)[:, None, None], jnp.arange(nb)[None, None, :],
                 jnp.asarray(basis.idx)[:, :, None]].add(jnp.where(jnp.asarray(basis.mask)[:, :, None], c, 0))
    box = box.reshape((K, nb) + basis.grid)
    return jnp.fft.ifftn(box, axes=(-3, -2, -1)) * n / np.sqrt(basis.volume)
