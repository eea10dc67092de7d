"""Chapter 01_dft: the physics kernel against outside references (libxc, Madelung constants, QE) and
its own invariants (occupation projector, k-grids, float64 scoping)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.dft import basis, crystal, energy, ewald, occupation, upf


def _x64(fn, *args, **kwargs):
    import jax
    with jax.enable_x64(True):
        return np.asarray(fn(*args, **kwargs))


@pytest.mark.parametrize("xc, libxc_name", [("lda", "LDA_X,LDA_C_PZ"), ("lda_x", "LDA_X")])
def test_lda_matches_libxc(xc, libxc_name):
    """Slater + PZ81 energy density and potential equal libxc's (through PySCF) to 1e-12."""
    import jax.numpy as jnp
    from pyscf.dft import libxc
    rho = np.logspace(-8, 3, 200)   # spans both PZ81 branches (r_s < 1 and > 1)
    exc, vxc = libxc.eval_xc(libxc_name, rho)[:2]
    ours_e = _x64(lambda r: energy.xc_energy_density(jnp.asarray(r), xc), rho)
    ours_v = _x64(lambda r: energy.xc_potential(jnp.asarray(r), xc), rho)
    np.testing.assert_allclose(ours_e, exc, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours_v, vxc[0], rtol=1e-12, atol=1e-12)


def test_xc_rejects_unknown_name():
    with pytest.raises(ValueError, match="xc must be one of"):
        energy.xc_energy_density(np.ones(3), "pbe")


@pytest.mark.parametrize("lattice, madelung", [
    ("sc", 0.880059440327), ("fcc", 0.895873615195), ("bcc", 0.895929255682)])
def test_ewald_matches_wigner_madelung_constants(lattice, madelung):
    """Point charges Z = 1 in a neutralising background: E/N = −α / r_s (Ha) with the known Madelung
    constants of the Wigner lattices (r_s the Wigner–Seitz radius)."""
    a = 3.7
    cells = {"sc": a * np.eye(3), "fcc": a / 2 * (np.ones((3, 3)) - np.eye(3)),
             "bcc": a / 2 * (np.ones((3, 3)) - 2 * np.eye(3))}
    cell = cells[lattice]
    rs = (3 * abs(np.linalg.det(cell)) / (4 * np.pi)) ** (1 / 3)
    e = ewald.ewald(cell, np.zeros((1, 3)), np.array([1.0]), eta=1.0, n_shells=6)
    assert e == pytest.approx(-madelung / rs, abs=1e-9)


def test_ewald_matches_qe_silicon():
    """QE prints 'ewald contribution = -16.80092958 Ry' for our Si cell (a = 10.26 bohr)."""
    si = crystal.builtin("si")
    e = ewald.ewald(si.cell, si.positions, np.array([4.0, 4.0]))
    assert 2 * e == pytest.approx(-16.80092958, abs=2e-8)
    assert ewald.ewald(si.cell, si.positions, np.array([4.0, 4.0]), eta=0.7) == pytest.approx(e, abs=1e-8)


def _v1_path():
    from lib.book import paths
    mirror = paths.book_data()
    path = mirror / "pseudopotentials" / "Si.pz-vbc.upf1.UPF" if mirror else None
    if path is None or not path.exists():
        pytest.skip("BOOK_DATA with pseudopotentials/Si.pz-vbc.upf1.UPF is not available")
    return path


def test_upf_v2_reader():
    pp = upf.read_upf(_si_v2())
    assert (pp.element, pp.z, len(pp.r)) == ("Si", 4.0, 431)
    assert [l for l, _, _ in pp.betas] == [0, 1]
    np.testing.assert_allclose(np.diag(pp.dij), [1.52388501179 / 2, 3.68330413052 / 2])
    assert pp.vloc[-1] * pp.r[-1] == pytest.approx(-pp.z, rel=1e-3)   # −Z/r tail, in Ha


def _si_v2():
    from lib.book import data
    try:
        return data.get("Si.pz-vbc.UPF", download=False)
    except FileNotFoundError:
        pytest.skip("Si.pz-vbc.UPF not available (set BOOK_DATA or install quantum-espresso-data)")


def test_upf_v1_and_v2_read_the_same_potential():
    v1, v2 = upf.read_upf(_v1_path()), upf.read_upf(_si_v2())
    assert (v1.element, v1.z) == (v2.element, v2.z)
    np.testing.assert_allclose(v1.r, v2.r, rtol=1e-10)
    np.testing.assert_allclose(v1.vloc, v2.vloc, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(v1.dij, v2.dij, rtol=1e-10)
    for (l1, k1, b1), (l2, k2, b2) in zip(v1.betas, v2.betas):
        assert (l1, k1) == (l2, k2)
        np.testing.assert_allclose(b1[:k1], b2[:k2], rtol=1e-10, atol=1e-14)
    q = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(upf.vloc_of_q(v1, q), upf.vloc_of_q(v2, q), rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(n_k=st.integers(1, 6), n_bands=st.integers(1, 6), frac=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_occupation_projector_constraints(n_k, n_bands, frac, seed):
    """0 ≤ f ≤ 1 and Σ_k w_k Σ_i f_ik = N for any Y_occ, including fractional N·K."""
    total = frac * n_bands * n_k                 # N·K, generally fractional
    m = occupation.n_columns(total)
    y = np.random.default_rng(seed).standard_normal((n_bands * n_k, m)) * 3
    f = _x64(occupation.occupations, y, n_k, n_bands, total)
    assert f.shape == (n_k, n_bands)
    assert f.min() >= -1e-12 and f.max() <= 1 + 1e-12
    assert np.sum(f / n_k) == pytest.approx(total / n_k, abs=1e-10)


def test_occupation_projector_rejects_bad_shape():
    with pytest.raises(ValueError, match="y_occ must have shape"):
        occupation.occupations(np.zeros((6, 2)), 2, 3, 3.0)


def test_kgrid_and_band_path():
    si = crystal.builtin("si")
    k = crystal.kgrid(si, (2, 2, 2))
    assert k.shape == (8, 3) and np.allclose(k[0], 0)
    kp, x, ticks = crystal.band_path(si, "LGX", 4)
    assert kp.shape == (9, 3) and np.all(np.diff(x) > 0)
    assert [t[1] for t in ticks] == ["L", "Γ", "X"] and np.allclose(kp[4], 0)
    assert np.linalg.norm(kp[-1]) == pytest.approx(2 * np.pi / 10.26)   # |ΓX| = 2π/a
    with pytest.raises(ValueError, match="path must be"):
        crystal.band_path(si, "LQ", 4)
    with pytest.raises(ValueError, match="kmesh"):
        crystal.kgrid(si, (0, 1, 1))


def test_fft_grid_as_qe_and_basis_validation():
    si, al = crystal.builtin("si"), crystal.builtin("al")
    assert basis.fft_grid(si, 8.0) == (20, 20, 20) and basis.fft_grid(al, 8.0) == (15, 15, 15)
    with pytest.raises(ValueError, match="ecut must be positive"):
        basis.make_basis(si, {}, -1.0, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="no entry for species"):
        basis.make_basis(si, {}, 8.0, np.zeros((1, 3)))


def test_float64_is_scoped_to_entry_points():
    """DFT entry points run in float64 and leave JAX's default (float32) as it was."""
    import jax.numpy as jnp
    from lib.dft import analysis
    from lib.dft.units import float64
    assert float64(lambda: jnp.ones(1).dtype)() == jnp.float64
    assert jnp.ones(1).dtype == jnp.float32
    assert analysis.commutator_norm(np.eye(2)[None], np.array([[1.0, 0.0]])) == 0.0
