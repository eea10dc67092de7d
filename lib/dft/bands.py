"""Band structures at a fixed density by trace minimisation, as in the paper's band-structure figures
(Li et al. 2024, arXiv:2411.05033; jrystal's ``calc_band_structure``): for each k on the path

    min_Y  Tr(Qᴴ H_k[n*] Q),   Q = QR(Y),

with Adam, warm-started from the previous k (Y lives on the FFT box, so plane waves map G → G between
k-points), then Rayleigh–Ritz: the eigenvalues of Qᴴ H_k Q. Two or more buffer bands are optimised beyond
the ones reported."""
from __future__ import annotations

import time

import numpy as np

from lib.dft import hamiltonian
from lib.dft.basis import Basis
from lib.dft.units import float64


@float64
def trace_minimization(basis: Basis, n, n_bands: int, *, n_buffer: int = 2, steps_first: int = 500,
                       steps_next: int = 100, lr: float = 1e-2, seed: int = 0, xc: str = "lda",
                       tol: float = 1e-5, chunk: int = 50, max_chunks: int = 20,
                       verbose: bool = True) -> tuple[np.ndarray, float]:
    """Bands (K, n_bands) in Ha at the k-points of ``basis`` (a path) for the density ``n``; returns
    (bands, wall seconds). ``steps_first`` Adam steps at the first k, ``steps_next`` at each next one;
    then ``chunk`` more steps at a time (at most ``max_chunks``) until the reported Rayleigh–Ritz values
    change by less than ``tol`` Ha over a chunk (bands that change fast along the path need more)."""
    import jax
    import jax.numpy as jnp
    import optax
    if n_bands < 1 or n_buffer < 0:
        raise ValueError(f"n_bands must be >= 1 and n_buffer >= 0, got {n_bands}, {n_buffer}")
    nb = n_bands + n_buffer
    v = hamiltonian.veff(basis, jnp.asarray(n), xc)
    dproj = jnp.asarray(basis.dproj)
    opt = optax.adam(lr)

    def orth(y, mask, idx):
        return jnp.linalg.qr(jnp.where(mask[:, None], y[idx], 0), mode="reduced")[0]

    def trace(y, mask, idx, kin, proj):
        q = orth(y, mask, idx)
        return hamiltonian.trace_k(v, q, idx, mask, kin, proj, dproj)

    @jax.jit
    def subspace(y, mask, idx, kin, proj):
        q = orth(y, mask, idx)
        h = jnp.conj(q).T @ hamiltonian.apply_k(v, q, idx, mask, kin, proj, dproj)
        return jnp.linalg.eigvalsh(h)

    def run(y, n_steps, mask, idx, kin, proj):
        def body(_, carry):
            y, s = carry
            g = jax.grad(trace)(y, mask, idx, kin, proj)
            u, s = opt.update(jnp.conj(g), s, y)
            return optax.apply_updates(y, u), s
        return jax.lax.fori_loop(0, n_steps, body, (y, opt.init(y)))[0]
    run = jax.jit(run, static_argnums=1)

    rng = np.random.default_rng(seed)
    g2 = 0.5 * np.sum(basis.g_vectors.reshape(-1, 3) ** 2, 1)
    y = jnp.asarray((rng.standard_normal((basis.n_grid, nb)) + 0j) / (1 + g2[:, None]) ** 2)
    t0 = time.time()
    out = []
    for k in range(len(basis.kpts)):
        arrs = [jnp.asarray(a[k]) for a in (basis.mask, basis.idx, basis.kin, basis.proj)]
        y = run(y, steps_first if k == 0 else steps_next, *arrs)
        eig = np.asarray(subspace(y, *arrs))[:n_bands]
        for _ in range(max_chunks):
            y = run(y, chunk, *arrs)
            eig, prev = np.asarray(subspace(y, *arrs))[:n_bands], eig
            if np.abs(eig - prev).max() < tol:
                break
        out.append(eig)
    wall = time.time() - t0
    if verbose:
        print(f"trace minimisation: {len(out)} k-points, {wall:.1f} s")
    return np.array(out), wall
