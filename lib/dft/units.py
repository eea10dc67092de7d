"""Units and precision for the DFT chapter: Hartree atomic units inside, eV and Ry at the edges, and a
decorator that runs a DFT entry point in float64 without flipping JAX's global default."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

HARTREE_EV: float = 27.211386245988   # eV per Hartree (CODATA 2018, as ASE)
RYDBERG_HA: float = 0.5               # Ha per Rydberg

F = TypeVar("F", bound=Callable)


def float64(fn: F) -> F:
    """Run ``fn`` with JAX float64 enabled (``jax.enable_x64``), restoring the previous setting after.

    Only the DFT entry points use it, so other chapters sharing a kernel keep float32."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import jax
        with jax.enable_x64(True):
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
