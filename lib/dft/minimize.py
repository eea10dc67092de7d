"""Direct free-energy minimisation, the paper's optimiser (Li et al. 2024, arXiv:2411.05033; official code
sail-sg/jrystal): minimise the Mermin free energy

    A(Y, Y_occ) = E_KS[f(Y_occ), C(Y)] − T·S[f(Y_occ)]

over unconstrained parameters with jit-compiled value-and-grad and optax Adam, while the temperature is
annealed geometrically from T0 down to T over the first half of the steps (jrystal's schedule; without
it the occupations freeze in a wrong filling). Complex gradients are conjugated before optax (JAX returns
∂L/∂z̄* for a real loss).

A second optimiser on the same parameters (``optimizer="lbfgs"``): L-BFGS with a zoom line search (optax),
with the Teter–Payne–Allan kinetic preconditioner (Teter, Payne & Allan, PRB 40,
12255, 1989) applied as a change of variables Y = P^½ Z on the orbital parameters,

    P(G) = (27 + 18x + 12x² + 8x³) / (27 + 18x + 12x² + 8x³ + 16x⁴),   x = ½|k+G|² / (1 Ha),

so that a gradient step in Z is the preconditioned step −P·∂A/∂Y* in Y (P → 1 for slow waves, → 1/(2x)
for fast ones); Y_occ is not preconditioned. A short staged annealing (three fixed temperatures over the
first 30 steps) keeps it from the slow tail that a wrong start of the occupations leaves (on Si, one seed of
three stalled 1.7 mHa high after 300 steps without it)."""
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
    per step ("step", "F", "E", "S", "T", "wall") and per log step ("log_step", "comm", "log_A"); ``snapshots`` step →
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


OPTIMIZERS: tuple[str, ...] = ("adam", "lbfgs")


def tpa_preconditioner(kin: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Teter–Payne–Allan preconditioner P(x), x = ``kin``/``scale`` (kinetic energy ½|k+G|² over a
    reference kinetic energy, both Ha); same shape as ``kin``, values in (0, 1]."""
    x = np.asarray(kin) / scale
    num = 27 + 18 * x + 12 * x ** 2 + 8 * x ** 3
    return num / (num + 16 * x ** 4)


def temperature(step: int, target: float, t0: float, steps: int, frac: float = 0.5) -> float:
    """Annealed temperature (Ha): geometric from ``t0`` to ``target`` over the first ``frac·steps``
    steps, then ``target``; ``t0 <= 0`` means no annealing."""
    if t0 <= 0 or t0 <= target:
        return float(target)
    span = max(frac * steps, 1.0)
    return float(max(target, t0 * (target / t0) ** (step / span)))


def lbfgs_temperature(step: int, target: float, t0: float, anneal_steps: int, levels: int = 3) -> float:
    """The L-BFGS annealing (Ha): ``levels`` constant temperatures geometric from ``t0`` down, each held
    ``anneal_steps / levels`` steps, then ``target``; ``anneal_steps`` = 0 or ``t0 <= target``: none."""
    if anneal_steps <= 0 or t0 <= target:
        return float(target)
    level = step * levels // anneal_steps
    return float(target) if level >= levels else float(t0 * (target / t0) ** (level / levels))


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
    from lib.dft import hamiltonian
    K = len(basis.kpts)
    y = jnp.asarray(params["y"])
    c = orbitals(basis, y)
    f = occupations(jnp.asarray(params["y_occ"]), K, y.shape[-1], basis.n_electrons / 2 * K)
    terms, n = energy_terms(basis, c, f, xc)
    h = hamiltonian.subspace(basis, hamiltonian.veff(basis, n, xc), c)
    return (np.asarray(c), np.asarray(f), np.asarray(h), np.asarray(n),
            {k: float(v) for k, v in terms.items()})


@float64
def minimize(basis: Basis, n_bands: int, temp: float, steps: int, *, lr: float = 1e-2,
             lr_occ: float = 5e-2, t0: float = 1.0, seed: int = 0, smooth: float = 2.0,
             xc: str = "lda", log_every: int = 200, snapshot_steps: tuple[int, ...] = (),
             snapshot_k: int = 0, checkpoint: str | Path | None = None, checkpoint_every: int = 500,
             verbose: bool = True, optimizer: str = "adam", lbfgs_memory: int = 10,
             lbfgs_anneal: int = 30) -> Result:
    """Minimise the free energy at target temperature ``temp`` (Ha) for ``steps`` steps.

    ``optimizer="adam"`` (the paper's): learning rates are constant for the first half and decay 10× over
    the second half; the occupation parameters get ``lr_occ`` (5× faster: their gradients are the
    bottleneck). ``t0`` is the starting temperature of the annealing (0: none).
    ``optimizer="lbfgs"``: TPA-preconditioned L-BFGS (module doc) with ``lbfgs_memory`` stored pairs; the
    first ``lbfgs_anneal`` steps run at three fixed temperatures geometric from ``t0`` (memory restarted at
    each change; 0: at ``temp`` throughout); the line search sets the step length (``lr``, ``lr_occ``
    unused). Prints progress every ``log_every`` steps and, if ``checkpoint`` is a path, saves there
    every ``checkpoint_every`` steps and resumes from it. Besides the per-step history, every log step
    records "log_A" (A at ``temp``, Ha) and every step "wall" (seconds of optimisation so far, the log
    evaluations excluded, the first step's jit compilation included)."""
    import jax
    import jax.numpy as jnp
    import optax
    from lib.dft import hamiltonian
    from lib.dft.analysis import commutator_norm
    for name, value in (("n_bands", n_bands), ("steps", steps), ("log_every", log_every),
                        ("lbfgs_memory", lbfgs_memory)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if int(lbfgs_anneal) < 0:
        raise ValueError(f"lbfgs_anneal must be an integer >= 0 (0: no annealing), got {lbfgs_anneal}")
    if temp <= 0:
        raise ValueError(f"temp must be positive (Ha), got {temp}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if n_bands < basis.n_electrons / 2:
        raise ValueError(f"n_bands must be >= n_electrons/2 = {basis.n_electrons / 2}, got {n_bands}")
    K = len(basis.kpts)
    total = basis.n_electrons / 2 * K

    def schedule(rate):
        half = max(steps // 2, 1)
        return optax.join_schedules([optax.constant_schedule(rate), optax.exponential_decay(rate, half, 0.1)], [half])
    if optimizer == "adam":
        opt = optax.multi_transform({"y": optax.adam(schedule(lr)), "y_occ": optax.adam(schedule(lr_occ))},
                                    {"y": "y", "y_occ": "y_occ"})
        to_opt = from_opt = lambda p: p
    else:
        opt = optax.lbfgs(memory_size=lbfgs_memory)
        root_p = jnp.asarray(np.sqrt(tpa_preconditioner(basis.kin)))[:, :, None, None]
        # real (…, 2) view of Z = Y / P^½: L-BFGS works on real vectors
        to_opt = lambda p: {"y": jnp.stack([p["y"].real, p["y"].imag], -1) / root_p, "y_occ": p["y_occ"]}

        def from_opt(q):
            y = q["y"] * root_p
            return {"y": y[..., 0] + 1j * y[..., 1], "y_occ": q["y_occ"]}
    params = jax.tree.map(jnp.asarray, init_params(basis, n_bands, seed, smooth))
    state = opt.init(to_opt(params))
    if optimizer == "lbfgs":   # strong-typed scalars, else the second step recompiles
        state = jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype), state)
    hist = {k: [] for k in ("step", "F", "E", "S", "T", "wall", "log_step", "comm", "log_A")}
    snaps: dict[int, np.ndarray] = {}
    start = 0
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt and ckpt.exists():
        saved = pickle.loads(ckpt.read_bytes())
        params = jax.tree.map(jnp.asarray, saved["params"])
        state = jax.tree.map(jnp.asarray, saved["state"])
        hist, snaps, start = saved["history"], saved["snapshots"], saved["step"]
        for k in ("wall", "log_A"):   # checkpoints written before these were recorded
            hist.setdefault(k, [])
        if verbose:
            print(f"resumed from {ckpt} at step {start}")

    @jax.jit
    def adam_step(p, s, t):
        (a, (e, ent)), g = jax.value_and_grad(lambda q: free_energy(basis, q, t, xc), has_aux=True)(p)
        g = jax.tree.map(jnp.conj, g)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, a, e, ent

    def lbfgs_loss(q, t):
        return free_energy(basis, from_opt(q), t, xc)[0]
    lbfgs_value_and_grad = optax.value_and_grad_from_state(lbfgs_loss)

    @jax.jit
    def lbfgs_step(p, s, t):
        q = to_opt(p)
        a, g = lbfgs_value_and_grad(q, state=s, t=t)
        upd, s = opt.update(g, s, q, value=a, grad=g, value_fn=lbfgs_loss, t=t)
        ent = entropy(occupations(p["y_occ"], K, n_bands, total), basis.wk)   # cheap: no orbitals
        return from_opt(optax.apply_updates(q, upd)), s, a, a + t * ent, ent
    step_fn = adam_step if optimizer == "adam" else lbfgs_step

    @jax.jit
    def diag_fn(p):
        c = orbitals(basis, p["y"])
        f = occupations(p["y_occ"], K, n_bands, total)
        terms, n = energy_terms(basis, c, f, xc)
        a = sum(terms.values()) - temp * entropy(f, basis.wk)
        return hamiltonian.subspace(basis, hamiltonian.veff(basis, n, xc), c), f, a

    def log(i):
        h, f, a = (np.asarray(x) for x in diag_fn(params))
        hist["log_step"].append(i)
        hist["comm"].append(commutator_norm(h, f))
        hist["log_A"].append(float(a))
        if i in snapshot_steps:
            snaps[i] = np.abs(h[snapshot_k])
        return h, f

    t_start = time.time()
    if start == 0:
        log(0)
    t_opt, since = (hist["wall"][-1] if hist.get("wall") else 0.0), time.perf_counter()
    for i in range(start, steps):
        if optimizer == "adam":
            t = temperature(i, temp, t0, steps)
        else:
            t = lbfgs_temperature(i, temp, t0, lbfgs_anneal)
            if i > 0 and t != hist["T"][-1]:   # a new objective: restart the curvature memory
                state = jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype), opt.init(to_opt(params)))
        params, state, a, e, ent = step_fn(params, state, t)
        for k, v in (("step", i + 1), ("F", a), ("E", e), ("S", ent), ("T", t)):
            hist[k].append(float(v))
        t_opt += time.perf_counter() - since
        hist["wall"].append(t_opt)
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
        since = time.perf_counter()
    wall = time.time() - t_start
    params_np = {k: np.asarray(v) for k, v in params.items()}
    c, f, h, n, terms = final_state(basis, params_np, xc)
    a_final = float(free_energy(basis, jax.tree.map(jnp.asarray, params_np), temp, xc)[0])
    return Result(params_np, {k: np.asarray(v) for k, v in hist.items()}, snaps, c, f, h, n, terms,
                  a_final, wall)
