"""The Kohn–Sham Hamiltonian at a fixed density, the one implementation of H·ψ in the chapter (Li et al.
2024, arXiv:2411.05033: the operator whose matrix self-diagonalises, whose bands the trace minimisation
finds, and which the SCF baseline diagonalises):

    (H_k c)(G) = ½|k+G|² c(G) + FFT[V_eff · IFFT c](G) + Σ_j β_j(k+G) D_j Σ_G' β_j*(k+G') c(G'),
    V_eff = V_loc + V_H[n] + V_xc[n]   (on the density's FFT grid).

The local term is a circular convolution on that grid, so it equals the dense V_eff(G − G') exactly: the
dense matrix gathers V_eff(G_p − G_q) instead of applying H to the identity (a test checks they agree).
The subspace matrix is h(k) = C_kᴴ (H_k C_k). All jnp."""
from __future__ import annotations

import numpy as np

from lib.dft.basis import Basis


def veff(basis: Basis, n, xc: str = "lda"):
    """Local Kohn–Sham potential V_loc + V_H + V_xc on the grid (n1, n2, n3), Ha, for density ``n``."""
    import jax.numpy as jnp
    from lib.dft.energy import hartree_potential_g, xc_potential
    vh_g, _ = hartree_potential_g(basis, n)
    v_g = (vh_g + jnp.asarray(basis.vloc_g)) * basis.n_grid
    return jnp.real(jnp.fft.ifftn(v_g)) + xc_potential(n, xc)


def apply_k(v, c, idx, mask, kin, proj, dproj):
    """H_k c at one k-point: ``c`` (P, I) plane-wave coefficients → (P, I), Ha. ``v`` (n1, n2, n3) the
    local potential; the k-point's ``idx`` (P,) into the flattened grid, ``mask`` (P,), ``kin`` (P,),
    projectors ``proj`` (J, P) and couplings ``dproj`` (J,) as in :class:`~lib.dft.basis.Basis`."""
    import jax.numpy as jnp
    grid, n_bands = v.shape, c.shape[-1]
    c = jnp.where(mask[:, None], c, 0)
    box = jnp.zeros((n_bands, v.size), c.dtype).at[:, idx].add(c.T)
    psi = jnp.fft.ifftn(box.reshape((n_bands,) + grid), axes=(-3, -2, -1))
    vpsi = jnp.fft.fftn(psi * v, axes=(-3, -2, -1)).reshape(n_bands, -1)[:, idx].T
    nonlocal_ = proj.T @ (dproj[:, None] * (jnp.conj(proj) @ c))
    return jnp.where(mask[:, None], kin[:, None] * c + vpsi + nonlocal_, 0)


def trace_k(v, q, idx, mask, kin, proj, dproj):
    """Tr(Qᴴ H_k Q) (Ha, real) for ``q`` (P, I), arguments as :func:`apply_k`. Its gradient is H_k Q
    itself (JAX convention: 2 conj(H_k Q)), reused from the forward pass: one H·ψ per step."""
    import jax
    import jax.numpy as jnp

    @jax.custom_vjp
    def tr(q):
        return jnp.real(jnp.sum(jnp.conj(q) * apply_k(v, q, idx, mask, kin, proj, dproj)))

    def fwd(q):
        hq = apply_k(v, q, idx, mask, kin, proj, dproj)
        return jnp.real(jnp.sum(jnp.conj(q) * hq)), hq

    def bwd(hq, g):
        return (2 * g * jnp.conj(hq),)
    tr.defvjp(fwd, bwd)
    return tr(q)


def _k_arrays(basis: Basis):
    import jax.numpy as jnp
    return tuple(jnp.asarray(a) for a in (basis.idx, basis.mask, basis.kin, basis.proj))


def apply(basis: Basis, v, c):
    """H_k C_k at every k of ``basis``: ``c`` (K, P, I) → (K, P, I), Ha."""
    import jax
    import jax.numpy as jnp
    dproj = jnp.asarray(basis.dproj)
    return jax.vmap(lambda ck, i, m, t, p: apply_k(v, ck, i, m, t, p, dproj))(c, *_k_arrays(basis))


def subspace(basis: Basis, v, c):
    """h(k) = C_kᴴ H_k C_k for every k: (K, I, I) complex, Ha, from ``c`` (K, P, I)."""
    import jax.numpy as jnp
    return jnp.einsum("kpa,kpb->kab", jnp.conj(c), apply(basis, v, c))


def difference_table(basis: Basis, k: int | None = None) -> np.ndarray:
    """The flat grid index of G_p − G_q (mod the grid) for plane waves p, q: (K, P, P) int, or (P, P) for
    k-point ``k`` only."""
    gi = np.stack(np.meshgrid(*[np.fft.fftfreq(g) * g for g in basis.grid], indexing="ij"), -1)
    idx = basis.idx if k is None else basis.idx[k]
    mi = gi.reshape(-1, 3).round().astype(int)[idx]                           # (..., P, 3)
    d = (mi[..., :, None, :] - mi[..., None, :, :]) % np.array(basis.grid)    # (..., P, P, 3)
    return (d[..., 0] * basis.grid[1] + d[..., 1]) * basis.grid[2] + d[..., 2]


def dense(v, table, mask, kin, proj, dproj):
    """The dense H_k as a matrix, (..., P, P) complex, Ha: the operator of :func:`apply_k` (it equals
    apply_k on the identity), with the local term gathered as V_eff(G_p − G_q) through ``table``
    (:func:`difference_table`); rows and columns of padding are zero. ``mask``, ``kin`` (..., P) and
    ``proj`` (..., J, P) for one k or stacked over k; ``v`` (n1, n2, n3), ``dproj`` (J,)."""
    import jax.numpy as jnp
    vg = jnp.fft.fftn(v).ravel() / v.size
    both = mask[..., :, None] & mask[..., None, :]
    h = jnp.where(both, vg[table], 0)
    h = h + jnp.einsum("...jp,j,...jq->...pq", proj, dproj, jnp.conj(proj))
    return h + kin[..., :, None] * jnp.eye(kin.shape[-1])


def dense_k(basis: Basis, v, k: int) -> np.ndarray:
    """The dense H at k-point ``k`` restricted to its ``npw[k]`` plane waves: (npw, npw) complex, Ha."""
    import jax.numpy as jnp
    npw = int(basis.npw[k])
    h = dense(jnp.asarray(v), jnp.asarray(difference_table(basis, k)), jnp.asarray(basis.mask[k]),
              jnp.asarray(basis.kin[k]), jnp.asarray(basis.proj[k]), jnp.asarray(basis.dproj))
    return np.asarray(h)[:npw, :npw]
