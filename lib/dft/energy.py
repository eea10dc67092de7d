"""The Kohn–Sham free energy in a plane-wave basis (Li et al. 2024, arXiv:2411.05033, Eqs. for the
energy functional and the Mermin free energy):

    E = T_s + E_H + E_loc + E_nl + E_xc + E_Ewald,     A = E − T·S,
    S = −Σ_k w_k Σ_i 2 [f ln f + (1−f) ln(1−f)],
    n(r) = Σ_k w_k Σ_i 2 f_ik |ψ_ik(r)|².

LDA is Slater exchange plus Perdew–Zunger 1981 correlation (QE's "SLA PZ"); the paper's all-electron runs
use exchange only (``xc="lda_x"``). Hartree atomic units; arrays are jax.numpy inside the entry points."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lib.dft.basis import Basis

XC_NAMES = ("lda", "lda_x")


def lda_exchange(n):
    """Slater exchange energy per electron ε_x(n) = −¾(3/π)^{1/3} n^{1/3} (Ha), elementwise."""
    import jax.numpy as jnp
    n = jnp.maximum(n, 1e-14)
    return -0.75 * (3 / jnp.pi) ** (1 / 3) * n ** (1 / 3)


def lda_correlation_pz81(n):
    """Perdew–Zunger 1981 correlation per electron ε_c(n) (Ha), unpolarised, elementwise."""
    import jax.numpy as jnp
    n = jnp.maximum(n, 1e-14)
    rs = (3 / (4 * jnp.pi * n)) ** (1 / 3)
    rs_lo = jnp.minimum(rs, 1.0)   # keep both branches finite for gradients
    rs_hi = jnp.maximum(rs, 1.0)
    lo = 0.0311 * jnp.log(rs_lo) - 0.048 + 0.0020 * rs_lo * jnp.log(rs_lo) - 0.0116 * rs_lo
    hi = -0.1423 / (1 + 1.0529 * jnp.sqrt(rs_hi) + 0.3334 * rs_hi)
    return jnp.where(rs < 1, lo, hi)


def xc_energy_density(n, xc: str = "lda"):
    """ε_xc(n) per electron (Ha): ``"lda"`` = Slater + PZ81, ``"lda_x"`` = exchange only."""
    if xc == "lda":
        return lda_exchange(n) + lda_correlation_pz81(n)
    if xc == "lda_x":
        return lda_exchange(n)
    raise ValueError(f"xc must be one of {XC_NAMES}, got {xc!r}")


def xc_potential(n, xc: str = "lda"):
    """v_xc(n) = d(n ε_xc)/dn (Ha), elementwise."""
    import jax
    import jax.numpy as jnp
    return jax.grad(lambda x: jnp.sum(xc_energy_density(x, xc) * x))(n)


def density(basis: "Basis", c, f):
    """Electron density n(r) (n1, n2, n3) in bohr⁻³ from coefficients C (K, P, I) and occupations
    f (K, I) ∈ [0, 1] per spin orbital (spin-restricted: 2 electrons per orbital)."""
    import jax.numpy as jnp
    from lib.dft.basis import to_real_space
    occ = 2.0 * f * jnp.asarray(basis.wk)[:, None]
    psi = to_real_space(basis, c)
    return jnp.einsum("kb,kbxyz->xyz", occ, jnp.abs(psi) ** 2)


def hartree_potential_g(basis: "Basis", n):
    """Hartree potential in reciprocal space, V_H(G) = 4π n(G)/|G|² (G ≠ 0), n(G) = FFT(n)/N."""
    import jax.numpy as jnp
    ng = jnp.fft.fftn(n) / basis.n_grid
    g2 = np.sum(basis.g_vectors ** 2, -1)
    return jnp.where(g2 > 1e-12, 4 * jnp.pi * ng / np.where(g2 > 1e-12, g2, 1.0), 0.0), ng


def energy_terms(basis: "Basis", c, f, xc: str = "lda") -> tuple[dict, object]:
    """The Kohn–Sham energy terms (Ha per cell) and the density: returns ({"kinetic", "local",
    "nonlocal", "hartree", "xc", "ewald"}, n)."""
    import jax.numpy as jnp
    occ = 2.0 * f * jnp.asarray(basis.wk)[:, None]
    n = density(basis, c, f)
    vh_g, ng = hartree_potential_g(basis, n)
    vol = basis.volume
    e_h = 0.5 * vol * jnp.real(jnp.sum(jnp.conj(ng) * vh_g))
    e_loc = vol * jnp.real(jnp.sum(jnp.conj(ng) * jnp.asarray(basis.vloc_g)))
    e_kin = jnp.sum(occ * jnp.einsum("kp,kpb->kb", jnp.asarray(basis.kin), jnp.abs(c) ** 2))
    pc = jnp.einsum("kjp,kpb->kjb", jnp.conj(jnp.asarray(basis.proj)), c)
    e_nl = jnp.sum(occ * jnp.einsum("j,kjb->kb", jnp.asarray(basis.dproj), jnp.abs(pc) ** 2))
    e_xc = vol / basis.n_grid * jnp.sum(xc_energy_density(n, xc) * n)
    return {"kinetic": e_kin, "local": e_loc, "nonlocal": e_nl, "hartree": e_h, "xc": e_xc,
            "ewald": basis.ewald}, n


def entropy(f, wk):
    """Fermi–Dirac entropy S = −Σ_k w_k Σ_i 2[f ln f + (1−f) ln(1−f)] (k_B = 1) of f (K, I), wk (K,)."""
    import jax.numpy as jnp
    fc = jnp.clip(f, 1e-300, 1 - 1e-16)
    s = fc * jnp.log(fc) + (1 - f) * jnp.log(jnp.clip(1 - f, 1e-300, 1))
    return -2.0 * jnp.sum(jnp.asarray(wk)[:, None] * s)
