"""Run the DFT paper's official code (sail-sg/jrystal) on one Si case and measure its faults by numbers.

Chapter 01_dft, ``notebooks/01_dft/04_official_code.ipynb`` reads what this script writes to
``data/01_dft/official_code.json``; the notebook never runs the official code. Nothing of the official
code is in this repository: this script imports it from a checkout given on the command line, in its
own environment, because it needs JAX 0.5.3 (it uses ``jax.core.Primitive``, removed in JAX 0.6) while the
book runs a current JAX.

Setup (outside the repository)::

    python3 -m venv /tmp/jrystal_venv
    /tmp/jrystal_venv/bin/pip install "jax[cpu]==0.5.3" jaxlib==0.5.3 jax_xc==0.0.8 optax==0.2.5 \\
        chex==0.1.90 ase==3.29
    git clone https://github.com/sail-sg/jrystal /tmp/jrystal && git -C /tmp/jrystal archive 39f6650 \\
        | tar -x -C /tmp/jrystal_39f6650          # HEAD (f29fc6e) for --head
    OMP_NUM_THREADS=1 /tmp/jrystal_venv/bin/python benchmarks/dft_official_code.py \\
        --checkout /tmp/jrystal_39f6650 --head /tmp/jrystal_head --steps 2000

The case: diamond Si, a = 10.20 bohr, QE's ``Si.pz-vbc.UPF``, LDA (Slater + PZ81), 10 Ha, Fermi–Dirac
T = 0.01 Ha, 8 bands, FFT grid 24³ (QE's for this cutoff). The energy is minimised by the official library
calls in the order of ``jrystal/calc/calc_ground_state_energy_normcons.py::calc`` (Adam(0.01, 0.9, 0.99),
annealing T(i) = max(100·(T/100)^(i/(steps/2)), T)), but with a Γ-centred k-grid supplied (the official
code builds only shifted Monkhorst–Pack grids) and with the energy terms returned instead of logged to 4
decimals. Measured:

* the free energy F = E_elec + E_Ewald(valence charges) − T·S_Mermin at Γ-centred 2×2×2 and at Γ, with the
  repository's centrosymmetric atom positions (∓a/8 (1,1,1));
* the same at Γ with pw.x's positions (0 and a/4 (1,1,1)), a pure translation of the same crystal: any
  difference is the sign error of the nonlocal structure factor;
* the G = 0 value of the official local potential (set to zero; pw.x keeps the α·Z term);
* the official radial (spherical Bessel) transform against Simpson's rule on the same logarithmic mesh;
* the Ewald energy the official ``calc`` adds to its logged "Total Energy" (atomic numbers Z = 14) and
  the one with the valence charges (4);
* the official entropy's offset from Mermin's;
* the exception the paper's ``occupation: idempotent`` raises inside the official ``calc``;
* the exception HEAD raises on an energy evaluation.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

A_BOHR = 10.20
ECUT = 10.0
TEMP = 0.01
N_BANDS = 8
GRID = 24
ROOT = Path(__file__).resolve().parents[1]
UPF_CANDIDATES = (Path(os.environ.get("BOOK_DATA", "/work/shared/data")) / "pseudopotentials",
                  Path("/usr/share/espresso/pseudo"))


def upf_dir() -> str:
    """A directory holding QE's Si.pz-vbc.UPF (the book's data folder or QE's own)."""
    for d in UPF_CANDIDATES:
        if (d / "Si.pz-vbc.UPF").exists():
            return str(d)
    raise FileNotFoundError(f"Si.pz-vbc.UPF not found in {[str(d) for d in UPF_CANDIDATES]}")


def cell() -> "np.ndarray":
    """FCC lattice vectors (rows, bohr)."""
    import numpy as np
    return A_BOHR / 2 * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])


POSITIONS = {"centrosymmetric": [[-A_BOHR / 8] * 3, [A_BOHR / 8] * 3],  # the official geometry files' choice
             "pwx": [[0.0] * 3, [A_BOHR / 4] * 3]}                       # QE's and the book's choice


def gamma_grid(n: int) -> "np.ndarray":
    """Γ-centred n×n×n grid, Cartesian bohr⁻¹ (K, 3)."""
    import numpy as np
    b = 2 * np.pi * np.linalg.inv(cell()).T
    frac = np.array([(i / n, j / n, k / n) for i in range(n) for j in range(n) for k in range(n)])
    frac = frac - np.round(frac + 1e-12)
    return frac @ b


def setup(jr_path: str) -> dict:
    """Import the official library from ``jr_path``; returns its modules."""
    sys.path.insert(0, jr_path)
    import jax
    jax.config.update("jax_enable_x64", True)
    from jrystal._src import energy, entropy, occupation, pw  # noqa: F401
    from jrystal._src.crystal import Crystal
    from jrystal._src.ewald import ewald_coulomb_repulsion
    from jrystal._src.grid import g_vectors, spherical_mask, translation_vectors
    from jrystal.pseudopotential import normcons
    from jrystal.pseudopotential.beta import _beta_sbt_single_atom
    from jrystal.pseudopotential.dataclass import NormConservingPseudopotential
    from jrystal.sbt import sbt_numerical
    return dict(energy=energy, entropy=entropy, occupation=occupation, pw=pw, Crystal=Crystal,
                ewald=ewald_coulomb_repulsion, g_vectors=g_vectors, spherical_mask=spherical_mask,
                translation_vectors=translation_vectors, normcons=normcons, beta_sbt=_beta_sbt_single_atom,
                NCPP=NormConservingPseudopotential, sbt_numerical=sbt_numerical)


def build(m: dict, positions: str, kmesh: int) -> dict:
    """The official objects for Si at ``positions`` with a Γ-centred kmesh³ grid."""
    import numpy as np
    crystal = m["Crystal"](charges=np.array([14, 14]), positions=np.array(POSITIONS[positions]),
                           cell_vectors=cell(), spin=0, symbols=["Si", "Si"])
    pp = m["NCPP"].create(crystal, upf_dir() + "/")
    g_vec = m["g_vectors"](crystal.cell_vectors, [GRID] * 3)
    k_vec = gamma_grid(kmesh)
    mask = m["spherical_mask"](crystal.cell_vectors, [GRID] * 3, ECUT)
    v_loc = m["normcons"].potential_local_reciprocal(crystal.positions, g_vec, pp.r_grid,
                                                      pp.local_potential_grid, pp.local_potential_charge,
                                                      crystal.vol)
    beta_gk = [m["beta_sbt"](r, b, l, np.array(g_vec), np.array(k_vec))
               for r, b, l in zip(pp.r_grid, pp.nonlocal_beta_grid, pp.nonlocal_angular_momentum)]
    v_nl = m["normcons"].potential_nonlocal_psi_reciprocal(crystal.positions, g_vec, k_vec, pp.r_grid,
                                                           pp.nonlocal_beta_grid, pp.nonlocal_angular_momentum,
                                                           pp.nonlocal_d_matrix, beta_gk)
    ewald_grid = m["translation_vectors"](crystal.cell_vectors, 2.0e4)
    ew = {name: float(m["ewald"](crystal.positions, np.array(q, float), g_vec, crystal.vol, ewald_eta=0.1,
                                 ewald_grid=ewald_grid))
          for name, q in (("Z", crystal.charges), ("valence", pp.valence_charges))}
    return dict(crystal=crystal, pp=pp, g_vec=g_vec, k_vec=k_vec, mask=mask, v_loc=v_loc, v_nl=v_nl, ewald=ew,
                n_el=float(np.sum(pp.valence_charges)))


def minimize(m: dict, s: dict, steps: int, seed: int = 123) -> dict:
    """Adam on the official free energy (simplex projector), the official calc's order of calls."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    pw, energy, nc, occm = m["pw"], m["energy"], m["normcons"], m["occupation"]
    vol, k_vec, g_vec = s["crystal"].vol, jnp.asarray(s["k_vec"]), s["g_vec"]
    n_k = len(s["k_vec"])

    def occ_of(p):
        return occm.occupation(p, n_k, num_electrons=s["n_el"], spin=0, method="simplex-projector")

    def terms(params):
        coeff = pw.coeff(params["pw"], s["mask"])
        occ = occ_of(params["occ"])
        dens = pw.density_grid(coeff, vol, occ)
        dens_g = pw.density_grid_reciprocal(coeff, vol, occ)
        return dict(kinetic=energy.kinetic(g_vec, k_vec, coeff, occ),
                    hartree=energy.hartree(dens_g, g_vec, vol),
                    local=nc.energy_local(dens_g, s["v_loc"], vol=vol),
                    nonlocal_=nc.energy_nonlocal(coeff, s["v_nl"], vol=vol, occupation=occ),
                    xc=energy.xc_energy(dens, g_vec, vol, "lda_x+lda_c_pz", kohn_sham=False)), occ

    def loss(params, temp):
        t, occ = terms(params)
        e = sum(t.values())
        ent = m["entropy"].fermi_dirac(occ, eps=1e-8)
        return e - temp * ent, (e, ent)

    opt = optax.adam(0.01, 0.9, 0.99)
    key = jax.random.PRNGKey(seed)
    params = {"pw": pw.param_init(key, N_BANDS, n_k, s["mask"]),
              "occ": occm.param_init(key, N_BANDS, s["n_el"], n_k, 0, "simplex-projector")}
    state = opt.init(params)

    @jax.jit
    def step(p, st, temp):
        (a, aux), g = jax.value_and_grad(loss, has_aux=True)(p, temp)
        upd, st = opt.update(g, st)
        return optax.apply_updates(p, upd), st, a, aux

    half = max(steps // 2, 1)
    t0 = time.time()
    tail = []
    for i in range(steps):
        temp = max(100.0 * (TEMP / 100.0) ** (i / half), TEMP)
        params, state, a, (e, ent) = step(params, state, temp)
        if i >= steps - max(steps // 10, 1):
            tail.append(float(e))
    wall = time.time() - t0
    t, occ = terms(params)
    t = {k.rstrip("_"): float(v) for k, v in t.items()}
    occ = np.asarray(occ)[0]                          # (K, bands); each k holds 2/K electrons at most
    f = np.clip(occ * n_k / 2, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_mermin = float(-np.sum(2.0 / n_k * np.nan_to_num(f * np.log(f) + (1 - f) * np.log(1 - f))))
    s_official = float(m["entropy"].fermi_dirac(jnp.asarray(occ)[None], eps=1e-8))
    e_elec = sum(t.values())
    return dict(steps=steps, wall_s=wall, terms=t, E_electronic=e_elec, ewald_valence=s["ewald"]["valence"],
                F=e_elec + s["ewald"]["valence"] - TEMP * s_mermin, minus_TS=-TEMP * s_mermin,
                S_official=s_official, S_mermin=s_mermin, E_std_last_tenth=float(np.std(tail)),
                occupations=f.tolist())


def radial_excess(m: dict, s: dict) -> dict:
    """The official spherical Bessel transform of (V_loc + Z/r) (l = 0) against Simpson's rule on the same
    mesh at |G| from 0.5 to 4 bohr⁻¹; returns the ratios and the excess a left Riemann sum would give."""
    import numpy as np
    from scipy.interpolate import CubicSpline
    from scipy.integrate import simpson
    pp = s["pp"]
    r, v, z = (np.asarray(pp.r_grid[0]), np.asarray(pp.local_potential_grid[0]),
               float(pp.local_potential_charge[0]))
    if r[0] == 0:
        r, v = r[1:], v[1:]
    f = v + z / r
    q = np.linspace(0.5, 4.0, 8)
    kk, fk = m["sbt_numerical"](r, f[None], l=0, kmax=float(q.max()) * 1.5)
    official = CubicSpline(np.asarray(kk), np.asarray(fk)[0])(q)
    exact = np.array([simpson(f * r ** 2 * np.sinc(qi * r / np.pi), x=r) for qi in q])
    ratio = official / exact
    dlog = float(np.log(r[1] / r[0]))
    # weights dr_i = r_{i+1} − r_i at r_i (a left Riemann sum) on r_i ∝ e^{iΔ} exceed r_i·Δ by (e^Δ − 1)/Δ
    return dict(q_bohr_inv=q.tolist(), ratio=ratio.tolist(), mean_ratio=float(np.mean(ratio)),
                log_mesh_step=dlog, left_riemann_excess=float(np.expm1(dlog) / dlog - 1))


def alpha_z(s: dict) -> dict:
    """G = 0 of the official local potential, and the α·Z energy pw.x adds:
    α = 4π∫ r (r V_loc + Z) dr per atom, E_α = N_e Σ_atoms α / Ω."""
    import numpy as np
    from scipy.integrate import simpson
    pp = s["pp"]
    r, v, z = (np.asarray(pp.r_grid[0]), np.asarray(pp.local_potential_grid[0]),
               float(pp.local_potential_charge[0]))
    alpha = 4 * np.pi * simpson(r * (r * v + z), x=r)
    vol = float(s["crystal"].vol)
    return dict(official_vloc_G0=float(np.abs(np.asarray(s["v_loc"])[0, 0, 0])), alpha_per_atom=float(alpha),
                E_alphaZ=float(s["n_el"] * 2 * alpha / vol), eig_shift=float(2 * alpha / vol))


def idempotent_crash(jr_path: str) -> dict:
    """Run the official ``calc`` with the paper's ``occupation: idempotent`` for 2 steps; returns the
    exception it raises (or the energy, if none)."""
    import numpy as np
    from jrystal.calc import calc_ground_state_energy_normcons as calc_mod
    from jrystal.config import get_config
    with tempfile.TemporaryDirectory() as tmp:
        xyz = Path(tmp) / "si.xyz"
        import ase
        import ase.io
        bohr = 0.529177210903
        atoms = ase.Atoms("Si2", positions=np.array(POSITIONS["centrosymmetric"]) * bohr, cell=cell() * bohr,
                          pbc=True)
        ase.io.write(xyz, atoms, format="extxyz")
        cfg = get_config()
        cfg.update(dict(crystal=None, crystal_file_path_path=str(xyz), pseudopotential_file_dir=upf_dir() + "/",
                        xc="lda_x+lda_c_pz", cutoff_energy=int(ECUT), grid_sizes=GRID, k_grid_sizes=1, use_pseudopotential=True, pseudopotential_type="nc", freq_mask_method="spherical",
                        occupation="idempotent", smearing=TEMP, empty_bands=N_BANDS - 4, epoch=2,
                        verbose=False, xla_preallocate=False))
        try:
            calc_mod.calc(cfg)
            return dict(raised=False)
        except Exception as exc:   # the fault being recorded
            tb = traceback.extract_tb(exc.__traceback__)
            where = next((f"{Path(fr.filename).relative_to(jr_path)}:{fr.lineno} {fr.line}" for fr in reversed(tb)
                          if fr.filename.startswith(str(Path(jr_path).resolve()))), "")
            return dict(raised=True, type=type(exc).__name__, message=str(exc).splitlines()[0][:300],
                        where=where)


HEAD_PROBE = """
import sys, traceback, jax
jax.config.update("jax_enable_x64", True)
sys.path.insert(0, sys.argv[1])
try:
    import jax.numpy as jnp
    from jrystal._src import pw, energy
    from jrystal._src.grid import g_vectors, spherical_mask
    import numpy as np
    cell = 5.1 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0.]])
    mask = spherical_mask(cell, [12] * 3, 4.0)
    p = pw.param_init(jax.random.PRNGKey(0), 4, 1, mask)
    c = pw.coeff(p, mask)
    occ = jnp.ones((1, 1, 4)) * 2
    n = pw.density_grid(c, float(abs(np.linalg.det(cell))), occ)
    print("OK", float(energy.xc_energy(n, g_vectors(cell, [12] * 3), float(abs(np.linalg.det(cell))), "lda_x")))
except Exception as exc:
    print("ERR", type(exc).__name__, str(exc).splitlines()[0][:300])
"""


def head_error(head: str) -> dict:
    """What HEAD does on a small energy evaluation in this environment (subprocess)."""
    out = subprocess.run([sys.executable, "-c", HEAD_PROBE, head], capture_output=True, text=True, timeout=300)
    line = (out.stdout.strip().splitlines() or [out.stderr.strip()[-300:]])[-1]
    return dict(output=line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkout", required=True, help="export of sail-sg/jrystal at commit 39f6650")
    ap.add_argument("--commit", default="39f6650", help="the commit of --checkout, recorded as provenance")
    ap.add_argument("--head", default=None, help="export of HEAD (f29fc6e), to record its failure")
    ap.add_argument("--head-commit", default="f29fc6e")
    ap.add_argument("--steps", type=int, default=2000, help="Adam steps per minimisation")
    ap.add_argument("--out", default=str(ROOT / "data" / "01_dft" / "official_code.json"))
    args = ap.parse_args()
    import numpy as np
    m = setup(args.checkout)
    res: dict = {}
    t_all = time.time()
    for name, positions, kmesh in (("k222", "centrosymmetric", 2), ("gamma", "centrosymmetric", 1),
                                   ("gamma_pwx_positions", "pwx", 1)):
        s = build(m, positions, kmesh)
        if name == "k222":
            res["alpha_z"] = alpha_z(s)
            res["radial"] = radial_excess(m, s)
            res["ewald"] = s["ewald"]
            res["n_planewaves"] = int(s["mask"].sum())
        r = minimize(m, s, args.steps)
        r.update(positions=POSITIONS[positions], kmesh=kmesh)
        res[name] = r
        print(f"{name}: F {r['F']:.6f} Ha, -TS {r['minus_TS']:.6f}, E std (last tenth) {r['E_std_last_tenth']:.1e},"
              f" {r['wall_s']:.0f} s", flush=True)
    n_k = 8
    # the official entropy −Σ[o ln o + (2/K − o) ln(2/K − o)] over o = 2f/K is Mermin's + 2·N_bands·ln(K/2)
    res["entropy_offset_k222"] = dict(measured=res["k222"]["S_official"] - res["k222"]["S_mermin"],
                                      expected=2 * N_BANDS * float(np.log(n_k / 2)))
    res["idempotent"] = idempotent_crash(args.checkout)
    print("idempotent:", res["idempotent"], flush=True)
    if args.head:
        res["head"] = head_error(args.head)
        print("HEAD:", res["head"], flush=True)
    pkgs = {p: metadata.version(p) for p in ("jax", "jaxlib", "jax_xc", "optax", "chex", "ase", "numpy", "scipy")}
    res["provenance"] = dict(
        repository="https://github.com/sail-sg/jrystal", commit=args.commit, head_commit=args.head_commit,
        packages=pkgs, python=platform.python_version(), machine=platform.machine(),
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
        command="OMP_NUM_THREADS=1 python benchmarks/dft_official_code.py " + " ".join(sys.argv[1:]),
        wall_s_total=time.time() - t_all)
    res["settings"] = dict(a_bohr=A_BOHR, ecut_ha=ECUT, temperature_ha=TEMP, n_bands=N_BANDS, grid=[GRID] * 3,
                           pseudo="Si.pz-vbc.UPF", xc="lda_x+lda_c_pz", optimizer="adam(0.01, 0.9, 0.99)",
                           steps=args.steps, n_k_222=n_k)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out} ({time.time() - t_all:.0f} s)")


if __name__ == "__main__":
    main()
