"""One-line notebook setup: threads, seeds, quiet logs, the book's figure style, versions."""
from __future__ import annotations

import importlib
import os
import random
import sys
import warnings

_VERSIONS_SHOWN = False
_LIBRARIES = ("numpy", "torch", "transformers", "jax", "matplotlib")


def threads() -> int:
    """Threads per process: ``$BOOK_THREADS`` or 1 (on 2 shared cores one thread is up to 10x
    faster for tiny models than two contended ones; run two notebooks at once instead)."""
    value = os.environ.get("BOOK_THREADS", "1")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"BOOK_THREADS must be a positive integer, got {value!r}")
    return int(value)


def _limit_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    if n == 1 and "jax" not in sys.modules:   # XLA reads its flags once, at first import
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false"
                                       " intra_op_parallelism_threads=1").strip()


def _quiet() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for pattern in ("IProgress not found", ".*TypedStorage is deprecated", ".*torch.utils._pytree",
                    ".*os.fork\\(\\) was called", ".*An NVIDIA GPU may be present"):
        warnings.filterwarnings("ignore", message=pattern)
    import logging
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.ERROR)


def setup(seed: int, *, torch: bool = True) -> None:
    """Prepare a notebook kernel: thread limits, seeds (python, numpy and, unless ``torch=False``,
    torch), quiet warnings, the book's matplotlib style; print library versions once.

    Call it before importing jax (its thread flags are read at import). JAX has no global seed:
    take keys from ``jax.random.key(seed)``."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    n = threads()
    _limit_threads(n)
    import numpy as np                      # after the thread variables, so BLAS reads them
    from threadpoolctl import threadpool_limits
    threadpool_limits(n)                    # and for BLAS/OpenMP pools already loaded
    _quiet()
    random.seed(seed)
    np.random.seed(seed)
    if torch:
        import torch as _torch
        _torch.manual_seed(seed)
        _torch.set_num_threads(n)
        try:
            _torch.set_num_interop_threads(n)
        except RuntimeError:   # already set in this process
            pass
        try:
            from transformers.utils import logging as hf_logging
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        except ImportError:
            pass
    from lib.book.style import style
    style()
    _print_versions(seed, n)


def _print_versions(seed: int, n: int) -> None:
    global _VERSIONS_SHOWN
    if _VERSIONS_SHOWN:
        return
    _VERSIONS_SHOWN = True
    parts = [f"python {sys.version.split()[0]}"]
    for name in _LIBRARIES:
        if name in sys.modules or name in ("numpy", "matplotlib"):
            try:
                parts.append(f"{name} {importlib.import_module(name).__version__}")
            except ImportError:
                pass
    print(f"seed {seed} · {n} thread(s) · " + " · ".join(parts))
