"""Direct free-energy minimisation, the paper's optimiser (Li et al. 2024, arXiv:2411.05033; official code
sail-sg/jrystal): minimise the Mermin free energy

    A(Y, Y_occ) = E_KS[f(Y_occ), C(Y)] − T·S[f(Y_occ)]

over unconstrained parameters with jit-compiled value-and-grad and optax Adam, while the temperature is
annealed geometrically from T0 down to T over the first half of the steps (jrystal's schedule; without
it the occupations freeze in a wrong filling). Complex gradients are conjugated before optax (JAX returns
∂L/∂z̄* for a real loss)."""
from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lib.dft.basis import Basis, orbitals
from lib.dft.energy import energy_terms, entropy
from lib.dft.occupation import n_columns, occupations
from lib.dft.units import float64


@dataclass
class Result:
    """A finished minimisation. ``params`` {"y": (K, P, I) complex, "y_occ": (I·K, M)}; ``history`` arrays
    per step ("step", "F", "E", "S", "T") and per log step ("log_step", "comm"); ``snapshots`` step →
    |h(k)| (I, I) Ha at k-point ``snapshot_k``; final ``c``, ``f`` (K, I), ``h`` (K, I, I), ``density``,
    ``terms`` (Ha), ``free_energy`` A at the target T (Ha) and ``wall_s``."""
    params: dict
    history: dict
    snapshots: dict
    c: np.ndarray = field(repr=False)
    f: np.ndarray = field(repr=False)
    h: np.ndarray = field(repr=False)
    density: np.ndarray = field(repr=False)
    terms: dict
    free_energy: float
    wall_s: float


def temperature(step: int, target: float, t0: float, steps: int, frac: float = 0.5) -> float:
    """Annealed temperature (Ha): geometric from ``t0`` to ``target`` over the first ``frac·steps``
    steps, then ``target``; ``t0 <= 0`` means no annealing."""
    if t0 <= 0 or t0 <= target:
        return float(target)
    span = max(frac * steps, 1.0)
    return float(max(target, t0 * (target / t0) ** (step / span)))


def init_params(basis: Basis, n_bands: int, seed: int, smooth: float = 2.0) -> dict:
    """Random start: Y ~ CN(0, 1)/(1 + ½|k+G|²)^smooth (low-energy plane waves first), Y_occ ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    K, P = basis.mask.shape
    scale = (1.0 / (1.0 + basis.kin) ** smooth)[:, :, None]
    y = (rng.standard_normal((K, P, n_bands)) + 1j * rng.standard_normal((K, P, n_bands))) * scale
    total = basis.n_electrons / 2 * K
    return {"y": y, "y_occ": rng.standard_normal((n_bands * K, n_columns(total)))}


def free_energy(basis: Basis, params: dict, temp, xc: str = "lda"):
    """A = E − T·S (Ha per cell) and (E, S) for parameters ``params`` (jnp)."""
    K = len(basis.kpts)
    n_bands = params["y"].shape[-1]
    c = orbitals(basis, params["y"])
    f = occupations(params["y_occ"], K, n_bands, basis.n_electrons / 2 * K)
    terms, _ = energy_terms(basis, c, f, xc)
    e = sum(terms.values())
    s = entropy(f, basis.wk)
    return e - temp * s, (e, s)


@float64
def final_state(basis: Basis, params: dict, xc: str = "lda") -> tuple:
    """(C, f, h, n, terms) at ``params`` (numpy; h is the subspace Hamiltonian (K, I, I) in Ha)."""
    import jax.numpy as jnp
    from lib.dft.analysis import _subspace
    K = len(basis.kpts)
    y = jnp.asarray(params["y"])
    c = orbitals(basis, y)
    f = occupations(jnp.asarray(params["y_occ"]), K, y.shape[-1], basis.n_electrons / 2 * K)
    terms, n = energy_terms(basis, c, f, xc)
    h = _subspace(basis, c, n, xc)
    return (np.asarray(c), np.asarray(f), np.asarray(h), np.asarray(n),
            {k: float(v) for k, v in terms.items()})


@float64
def minimize(basis: Basis, n_bands: int, temp: float, steps: int, *, lr: float = 1e-2,
             lr_occ: float = 5e-2, t0: float = 1.0, seed: int = 0, smooth: float = 2.0,
             xc: str = "lda", log_every: int = 200, snapshot_steps: tuple[int, ...] = (),
             snapshot_k: int = 0, checkpoint: str | Path | None = None, checkpoint_every: int = 500,
             verbose: bool = True) -> Result:
    """Minimise the free energy at target temperature ``temp`` (Ha) with Adam for ``steps`` steps.

    Learning rates are constant for the first half and decay 10× over the second half; the occupation
    parameters get ``lr_occ`` (5× faster: their gradients are the bottleneck). ``t0`` is the starting
    temperature of the annealing (0: none). Prints progress every ``log_every`` steps and, if
    ``checkpoint`` is a path, saves there every ``checkpoint_every`` steps and resumes from it."""
    import jax
    import jax.numpy as jnp
    import optax
    from lib.dft.analysis import _subspace, commutator_norm
    for name, value in (("n_bands", n_bands), ("steps", steps), ("log_every", log_every)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if temp <= 0:
        raise ValueError(f"temp must be positive (Ha), got {temp}")
    if n_bands < basis.n_electrons / 2:
        raise ValueError(f"n_bands must be >= n_electrons/2 = {basis.n_electrons / 2}, got {n_bands}")
    K = len(basis.kpts)
    total = basis.n_electrons / 2 * K

    def schedule(rate):
        half = max(steps // 2, 1)
        return optax.join_schedules([optax.constant_schedule(rate), optax.exponential_decay(rate, half, 0.1)], [half])
    opt = optax.multi_transform({"y": optax.adam(schedule(lr)), "y_occ": optax.adam(schedule(lr_occ))},
                                {"y": "y", "y_occ": "y_occ"})
    params = jax.tree.map(jnp.asarray, init_params(basis, n_bands, seed, smooth))
    state = opt.init(params)
    hist = {k: [] for k in ("step", "F", "E", "S", "T", "log_step", "comm")}
    snaps: dict[int, np.ndarray] = {}
    start = 0
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt and ckpt.exists():
        saved = pickle.loads(ckpt.read_bytes())
        params = jax.tree.map(jnp.asarray, saved["params"])
        state = jax.tree.map(jnp.asarray, saved["state"])
        hist, snaps, start = saved["history"], saved["snapshots"], saved["step"]
        if verbose:
            print(f"resumed from {ckpt} at step {start}")

    @jax.jit
    def step_fn(p, s, t):
        (a, (e, ent)), g = jax.value_and_grad(lambda q: free_energy(basis, q, t, xc), has_aux=True)(p)
        g = jax.tree.map(jnp.conj, g)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, a, e, ent

    @jax.jit
    def diag_fn(p):
        c = orbitals(basis, p["y"])
        f = occupations(p["y_occ"], K, n_bands, total)
        _, n = energy_terms(basis, c, f, xc)
        return _subspace(basis, c, n, xc), f

    def log(i):
        h, f = (np.asarray(x) for x in diag_fn(params))
        hist["log_step"].append(i)
        hist["comm"].append(commutator_norm(h, f))
        if i in snapshot_steps:
            snaps[i] = np.abs(h[snapshot_k])
        return h, f

    t_start = time.time()
    if start == 0:
        log(0)
    for i in range(start, steps):
        t = temperature(i, temp, t0, steps)
        params, state, a, e, ent = step_fn(params, state, t)
        for k, v in (("step", i + 1), ("F", a), ("E", e), ("S", ent), ("T", t)):
            hist[k].append(float(v))
        if (i + 1) % log_every == 0 or (i + 1) == steps or (i + 1) in snapshot_steps:
            log(i + 1)
            if verbose and ((i + 1) % log_every == 0 or (i + 1) == steps):
                print(f"step {i + 1:5d}  T {t:.4f} Ha  A {float(a):.8f} Ha  ‖[F,h]‖/‖h‖ {hist['comm'][-1]:.2e}"
                      f"  ({time.time() - t_start:.0f} s)", flush=True)
        if ckpt and (i + 1) % checkpoint_every == 0:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            ckpt.write_bytes(pickle.dumps({"params": jax.tree.map(np.asarray, params),
                                           "state": jax.tree.map(np.asarray, state), "history": hist,
                                           "snapshots": snaps, "step": i + 1}))
    wall = time.time() - t_start
    params_np = {k: np.asarray(v) for k, v in params.items()}
    c, f, h, n, terms = final_state(basis, params_np, xc)
    a_final = float(free_energy(basis, jax.tree.map(jnp.asarray, params_np), temp, xc)[0])
    return Result(params_np, {k: np.asarray(v) for k, v in hist.items()}, snaps, c, f, h, n, terms,
                  a_final, wall)
