"""The external reference: Quantum ESPRESSO ``pw.x``, run for real with settings comparable to ours, its
output parsed and cached as small JSON in ``data/01_dft/`` so that notebooks also run where pw.x is absent.

Comparable settings: ``ecutwfc`` = 2·E_cut (Ry), the same FFT grid (``nr1..3``), Fermi–Dirac smearing
with ``degauss`` = 2T (Ry), the full Γ-centred k-grid (``nosym``, ``noinv``), ``conv_thr`` 1e-10 and
``diago_full_acc`` (accurate empty bands). QE's ``!    total energy`` with smearing is the Mermin free
energy A = E − TS, the quantity the paper minimises."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from lib.book import paths
from lib.dft.crystal import Crystal

CACHE_DIR: Path = paths.DATA / "01_dft"
_MASS = {"Si": 28.086, "Al": 26.982, "C": 12.011}


def pw_input(crystal: Crystal, pseudo_files: dict[str, str], ecut: float, temp: float, n_bands: int,
             grid: tuple[int, int, int], *, kmesh: tuple[int, int, int] | None = None,
             kpts: np.ndarray | None = None, calculation: str = "scf", xc: str = "lda",
             prefix: str = "pwscf") -> str:
    """The text of a pw.x input (ibrav = 0, bohr). ``ecut`` and ``temp`` in Ha; give ``kmesh`` (Γ-centred
    automatic grid) for ``scf`` or explicit ``kpts`` (K, 3) bohr⁻¹ for ``bands``; ``pseudo_files`` maps
    species to UPF file names in the run's pseudo directory."""
    if calculation not in ("scf", "bands"):
        raise ValueError(f"calculation must be 'scf' or 'bands', got {calculation!r}")
    if (kmesh is None) == (kpts is None):
        raise ValueError("give exactly one of kmesh (automatic grid) or kpts (explicit list)")
    if xc not in ("lda", "lda_x"):
        raise ValueError(f"xc must be 'lda' or 'lda_x', got {xc!r}")
    species = sorted(set(crystal.species))
    dft = "\n  input_dft='SLA'," if xc == "lda_x" else ""
    lines = [
        "&control",
        f"  calculation='{calculation}', prefix='{prefix}', outdir='./tmp', pseudo_dir='./pseudo'",
        "/", "&system",
        f"  ibrav=0, nat={len(crystal.species)}, ntyp={len(species)}, ecutwfc={2 * ecut:.10g}, nbnd={n_bands},",
        f"  nr1={grid[0]}, nr2={grid[1]}, nr3={grid[2]},",
        f"  occupations='smearing', smearing='fd', degauss={2 * temp:.10g}, nosym=.true., noinv=.true.,{dft}",
        "/", "&electrons",
        "  conv_thr=1e-10, diago_full_acc=.true., mixing_beta=0.3, electron_maxstep=400",
        "/", "ATOMIC_SPECIES"]
    lines += [f"  {s} {_MASS.get(s, 1.0)} {pseudo_files[s]}" for s in species]
    lines += ["CELL_PARAMETERS bohr"] + ["  " + " ".join(f"{x:.10f}" for x in row) for row in crystal.cell]
    lines += ["ATOMIC_POSITIONS bohr"]
    lines += [f"  {s} " + " ".join(f"{x:.10f}" for x in p) for s, p in zip(crystal.species, crystal.positions)]
    if kmesh is not None:
        lines += ["K_POINTS automatic", "  " + " ".join(str(int(m)) for m in kmesh) + " 0 0 0"]
    else:
        frac = np.asarray(kpts) @ crystal.cell.T / (2 * np.pi)
        lines += ["K_POINTS crystal", f"  {len(frac)}"]
        lines += ["  " + " ".join(f"{x:.10f}" for x in k) + " 1.0" for k in frac]
    return "\n".join(lines) + "\n"


def parse_pw_output(text: str) -> dict:
    """Parse a pw.x output: free energy ``F_ha``, ``fermi_ev``, ``ewald_ha``, ``minus_ts_ha``, ``alat``
    (bohr), ``kpts`` (K, 3) bohr⁻¹ and ``eigs_ev`` (K, n_bands) of the last eigenvalue listing, ``grid``,
    ``wall_s``, ``version``. Missing quantities are None."""
    def num(pattern: str) -> float | None:
        m = re.findall(pattern, text)
        return float(m[-1]) if m else None
    alat = num(r"lattice parameter \(alat\)\s*=\s*([-\d.]+)")
    if alat is None:
        raise ValueError("not a pw.x output: no 'lattice parameter (alat)' line")
    tail = text.split("End of self-consistent calculation")[-1].split("End of band structure calculation")[-1]
    blocks = re.findall(r"k =\s*([-\d.\s]+?)\s*\(\s*\d+ PWs\)\s+bands \(ev\):\s+(.*?)(?:\n\s*\n(?=\s*(?:k =|occupation|the Fermi|highest|Writing|\s*$))|occupation numbers)",
                        tail, re.S)
    kpts, eigs = [], []
    for kstr, estr in blocks:
        kpts.append([float(x) for x in re.findall(r"-?\d+\.\d+", kstr)])
        eigs.append([float(x) for x in re.findall(r"-?\d+\.\d+", estr)])
    grid = re.search(r"FFT dimensions: \(\s*(\d+),\s*(\d+),\s*(\d+)\)", text)
    ry = lambda v: None if v is None else v / 2.0
    fermi = num(r"the Fermi energy is\s+([-\d.]+)")
    if fermi is None:
        fermi = num(r"highest occupied level \(ev\):\s+([-\d.]+)")
    version = re.search(r"Program PWSCF v\.(\S+)", text)
    return {
        "F_ha": ry(num(r"!\s+total energy\s+=\s+([-\d.]+)")),
        "fermi_ev": fermi,
        "ewald_ha": ry(num(r"ewald contribution\s+=\s+([-\d.]+)")),
        "minus_ts_ha": ry(num(r"smearing contrib\. \(-TS\)\s+=\s+([-\d.]+)")),
        "alat": alat,
        "kpts": (np.array(kpts) * 2 * np.pi / alat).tolist(),
        "eigs_ev": eigs,
        "grid": [int(g) for g in grid.groups()] if grid else None,
        "wall_s": num(r"PWSCF\s*:.*?([\d.]+)s WALL"),
        "version": version.group(1) if version else None,
    }


def pw_executable() -> str | None:
    """The pw.x to run: ``$PW_X`` (set it to ``none`` to force the cached references) or ``pw.x`` on PATH."""
    name = os.environ.get("PW_X", "pw.x")
    return None if name.lower() == "none" else shutil.which(name)


def pw_available() -> bool:
    """True if a pw.x can be run (see :func:`pw_executable`)."""
    return pw_executable() is not None


def run_pw(inputs: list[str], pseudo_paths: dict[str, Path], timeout: float = 600) -> list[str]:
    """Run pw.x on each input in turn in one scratch directory (a ``bands`` run reuses the preceding
    ``scf``), with the UPF files copied in; returns the outputs. Single MPI rank, one thread."""
    if not pw_available():
        raise FileNotFoundError("pw.x is not on PATH (Debian: apt-get install quantum-espresso quantum-espresso-data)")
    outs = []
    with tempfile.TemporaryDirectory(prefix="pwx_") as tmp:
        (Path(tmp) / "pseudo").mkdir()
        for p in pseudo_paths.values():
            shutil.copy(p, Path(tmp) / "pseudo" / Path(p).name)
        for text in inputs:
            proc = subprocess.run([pw_executable()], input=text, capture_output=True, text=True, cwd=tmp,
                                  timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})
            if proc.returncode != 0 or "JOB DONE" not in proc.stdout:
                raise RuntimeError(f"pw.x failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            outs.append(proc.stdout)
    return outs


def reference(name: str, inputs: list[str], pseudo_paths: dict[str, Path], *, prefer: str = "run",
              write_cache: bool = False) -> dict:
    """The QE result for ``inputs`` (the last one's output, parsed), from a fresh pw.x run when pw.x is
    installed and ``prefer="run"``, else from ``data/01_dft/<name>.json`` if that cache was made from
    exactly these inputs. Prints which source it used; the dict's ``source`` says it too."""
    if prefer not in ("run", "cache"):
        raise ValueError(f"prefer must be 'run' or 'cache', got {prefer!r}")
    path = CACHE_DIR / f"{name}.json"
    cached = json.loads(path.read_text()) if path.exists() else None
    fresh = cached is not None and cached.get("inputs") == inputs
    if pw_available() and (prefer == "run" or not fresh):
        t = time.time()
        outs = run_pw(inputs, pseudo_paths)
        res = parse_pw_output(outs[-1])
        res["wall_s_total"] = time.time() - t
        res["inputs"] = inputs
        res["source"] = f"pw.x {res['version']} run now ({res['wall_s_total']:.1f} s wall)"
        if write_cache:
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            keep = {k: v for k, v in res.items() if k != "source"}
            path.write_text(json.dumps(keep, indent=0) + "\n")
        print(f"Quantum ESPRESSO reference {name!r}: {res['source']}")
        return res
    if not fresh:
        raise FileNotFoundError(f"pw.x is not installed and {path} does not hold a run with these settings; "
                                "install Quantum ESPRESSO (apt-get install quantum-espresso) to compute it")
    cached["source"] = f"cached {path.relative_to(paths.ROOT)} (pw.x {cached['version']}; pw.x not run)"
    print(f"Quantum ESPRESSO reference {name!r}: {cached['source']}")
    return cached


def scf_reference(name: str, crystal: Crystal, pseudo_paths: dict[str, Path], ecut: float, kmesh, temp: float,
                  n_bands: int, grid, xc: str = "lda", **kw) -> dict:
    """QE's SCF for our settings (see module doc); ``pseudo_paths`` maps species to UPF paths."""
    files = {s: Path(p).name for s, p in pseudo_paths.items()}
    text = pw_input(crystal, files, ecut, temp, n_bands, grid, kmesh=kmesh, xc=xc, prefix=name)
    return reference(name, [text], pseudo_paths, **kw)


def bands_reference(name: str, crystal: Crystal, pseudo_paths: dict[str, Path], ecut: float, kmesh, temp: float,
                    n_bands_scf: int, grid, kpts: np.ndarray, n_bands: int, xc: str = "lda", **kw) -> dict:
    """QE's non-self-consistent bands at ``kpts`` (K, 3) bohr⁻¹ after an SCF with our settings."""
    files = {s: Path(p).name for s, p in pseudo_paths.items()}
    scf = pw_input(crystal, files, ecut, temp, n_bands_scf, grid, kmesh=kmesh, xc=xc, prefix=name)
    bands = pw_input(crystal, files, ecut, temp, n_bands, grid, kpts=kpts, calculation="bands", xc=xc, prefix=name)
    return reference(name, [scf, bands], pseudo_paths, **kw)


def make_caches() -> None:
    """Regenerate ``data/01_dft/*.json`` with pw.x at the notebooks' default settings
    (``python -m lib.dft.qe``)."""
    from lib.dft import basis, crystal as cr_mod, upf
    for name, element, kpts, n_scf, path, per_segment, n_bands in (
            ("si", "Si", 2, 8, "LGX", 10, 10), ("al", "Al", 3, 8, "GXWLGK", 6, 6)):
        cr = cr_mod.builtin(name)
        _, pfile = upf.load(element)
        grid = basis.fft_grid(cr, 8.0)
        scf_reference(f"{name}_scf", cr, {element: pfile}, 8.0, (kpts,) * 3, 0.01, n_scf, grid, write_cache=True)
        kp = cr_mod.band_path(cr, path, per_segment)[0]
        bands_reference(f"{name}_bands", cr, {element: pfile}, 8.0, (kpts,) * 3, 0.01, 8, grid, kp, n_bands,
                        write_cache=True)
    # aluminium at the paper's temperature, 0.001 Ha (degauss 0.002 Ry): 02_aluminium's first row
    al = cr_mod.builtin("al")
    scf_reference("al_scf_cold", al, {"Al": upf.load("Al")[1]}, 8.0, (3,) * 3, 0.001, 8, basis.fft_grid(al, 8.0),
                  write_cache=True)


if __name__ == "__main__":
    make_caches()
