"""Chapter 01_dft: the Quantum ESPRESSO writer/parser on QE's shipped example outputs, the cached
references, and (where pw.x and the pseudopotentials are installed) our SCF against a fresh pw.x run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lib.book import paths
from lib.dft import crystal, qe


def _example(name: str) -> str:
    mirror = paths.book_data()
    path = mirror / "pseudopotentials" / "qe_example01_reference" / name if mirror else None
    if path is None or not path.exists():
        pytest.skip("BOOK_DATA with QE's example01 outputs is not available")
    return path.read_text()


def test_parser_reads_qe_example_silicon_scf():
    out = qe.parse_pw_output(_example("si.scf.david.out"))
    assert out["F_ha"] == pytest.approx(-15.84452726 / 2)
    assert out["ewald_ha"] == pytest.approx(-16.89975867 / 2)
    assert out["fermi_ev"] == pytest.approx(5.9568)          # highest occupied level (insulator)
    assert out["alat"] == pytest.approx(10.20) and out["grid"] == [20, 20, 20]
    eigs = np.array(out["eigs_ev"])
    assert eigs.shape == (10, 4) and eigs[0].tolist() == [-5.6039, 4.6467, 5.9568, 5.9568]
    assert np.allclose(out["kpts"][0], np.array([0.125, 0.125, 0.125]) * 2 * np.pi / 10.20)


def test_parser_reads_qe_example_aluminium_scf_and_bands():
    scf = qe.parse_pw_output(_example("al.scf.david.out"))
    assert scf["F_ha"] == pytest.approx(-4.18725745 / 2) and scf["fermi_ev"] == pytest.approx(8.2612)
    assert np.array(scf["eigs_ev"]).shape == (60, 6)
    bands = qe.parse_pw_output(_example("al.band.david.out"))
    assert bands["F_ha"] is None and np.array(bands["eigs_ev"]).shape == (28, 8)
    assert bands["eigs_ev"][0][:2] == [-3.1911, 21.1779]


def test_parser_rejects_non_qe_text():
    with pytest.raises(ValueError, match="not a pw.x output"):
        qe.parse_pw_output("hello")


def test_writer_uses_comparable_settings():
    si = crystal.builtin("si")
    text = qe.pw_input(si, {"Si": "Si.pz-vbc.UPF"}, 8.0, 0.01, 8, (20, 20, 20), kmesh=(2, 2, 2))
    for needle in ("ecutwfc=16,", "degauss=0.02,", "smearing='fd'", "nosym=.true.", "noinv=.true.",
                   "nr1=20, nr2=20, nr3=20", "diago_full_acc=.true.", "K_POINTS automatic\n  2 2 2 0 0 0",
                   "CELL_PARAMETERS bohr", "Si 28.086 Si.pz-vbc.UPF"):
        assert needle in text
    kp = crystal.band_path(si, "LGX", 2)[0]
    bands = qe.pw_input(si, {"Si": "x.UPF"}, 8.0, 0.01, 10, (20, 20, 20), kpts=kp, calculation="bands")
    assert "calculation='bands'" in bands and "K_POINTS crystal\n  5\n" in bands
    assert "0.5000000000 0.5000000000 0.5000000000 1.0" in bands        # L in crystal coordinates
    with pytest.raises(ValueError, match="exactly one of kmesh"):
        qe.pw_input(si, {"Si": "x"}, 8.0, 0.01, 8, (20, 20, 20))
    with pytest.raises(ValueError, match="calculation must be"):
        qe.pw_input(si, {"Si": "x"}, 8.0, 0.01, 8, (20, 20, 20), kmesh=(1, 1, 1), calculation="relax")


@pytest.mark.parametrize("name", ["si_scf", "al_scf", "al_scf_cold", "si_bands", "al_bands"])
def test_cached_references_are_small_and_complete(name):
    path = qe.CACHE_DIR / f"{name}.json"
    assert path.stat().st_size < 60_000
    ref = json.loads(path.read_text())
    assert ref["version"].startswith("6.") and ref["inputs"]
    assert len(ref["kpts"]) == len(ref["eigs_ev"]) > 0
    # the cache re-parses from its own settings: F for scf runs, none for bands runs
    assert (ref["F_ha"] is not None) == ("_scf" in name)


def test_our_scf_matches_qe_to_1e6_ha():
    """Our dense-diagonalisation SCF for Si (8 Ha, 2×2×2, T = 0.01 Ha) vs QE (fresh run or cache)."""
    from lib.dft import basis, scf, upf
    try:
        pseudo, pfile = upf.load("Si")
    except FileNotFoundError:
        pytest.skip("Si.pz-vbc.UPF not available")
    si = crystal.builtin("si")
    bs = basis.make_basis(si, {"Si": pseudo}, 8.0, crystal.kgrid(si, (2, 2, 2)))
    ref = qe.scf_reference("si_scf", si, {"Si": pfile}, 8.0, (2, 2, 2), 0.01, 8, bs.grid)
    res = scf.scf(bs, 8, 0.01, verbose=False)
    assert res.converged and abs(res.free_energy - ref["F_ha"]) < 1e-6
    assert abs(res.mu * 27.211386 - ref["fermi_ev"]) < 1e-3
