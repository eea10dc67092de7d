"""Execute the book's notebooks with papermill into ``book/``.

    python -m lib.run [chapter | chapter/notebook ...] [--profile NAME] [-p key=value ...] [-j N]
                      [--prepare-only]

A selection is a chapter folder under ``notebooks/`` (``02_sea``) or one notebook (``02_sea/02_online_alignment``);
all chapters if none is given. ``--profile`` takes the named parameters from the chapter's ``params.yml``
(``cpu``: the notebooks' own defaults; ``ci`` is optional per chapter; ``gpu``: the paper's scale).
``-p`` values are YAML-typed and apply to the notebooks that declare the parameter; one that no selected
notebook declares is an error, as is a value of the wrong type (papermill itself only warns). ``-j N``
runs N notebooks side by side (one thread each, see ``lib.book.nb``).

Every executed (or prepared) notebook records its provenance in its metadata (``PROVENANCE_KEY``): the
profile, the overrides, the git commit and whether the tree was dirty, a hash of ``lib/``, and the wall
time; the results page shows it. Prints one line per notebook with its wall time; exits non-zero if any
notebook fails."""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import yaml

from lib.book import paths

TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,),
                                      "list": (list,), "dict": (dict,)}
OPTIONAL_PROFILES = ("cpu", "ci")   # a chapter may lack these: its notebooks then run at their defaults
PROVENANCE_KEY = "book_provenance"   # notebook metadata written by this runner and by nbval_writeback


class ParameterError(ValueError):
    """A parameter the notebook does not declare, or a value of the wrong type."""


def chapters() -> list[str]:
    """The chapter folders under ``notebooks/``, in order."""
    return sorted(p.name for p in paths.NOTEBOOKS.iterdir() if p.is_dir() and not p.name.startswith("."))


def sources(selected: list[str]) -> list[Path]:
    """The notebook sources of the selection: chapters (``02_sea``) or notebooks (``02_sea/01_dueling_bandit``,
    ``.ipynb`` optional); every chapter if empty."""
    found: list[Path] = []
    for item in selected or chapters():
        chapter, _, stem = item.strip("/").removesuffix(".ipynb").partition("/")
        if chapter not in chapters():
            raise SystemExit(f"unknown chapter {chapter!r} in {item!r}; chapters are: {', '.join(chapters())}")
        notebooks = sorted((paths.NOTEBOOKS / chapter).glob("*.ipynb"))
        if stem:
            notebooks = [p for p in notebooks if p.stem == stem]
            if not notebooks:
                names = ", ".join(p.stem for p in sorted((paths.NOTEBOOKS / chapter).glob("*.ipynb")))
                raise SystemExit(f"unknown notebook {item!r}; {chapter} has: {names}")
        found += [p for p in notebooks if p not in found]
    return found


def applicable(overrides: dict[str, Any], declared_by: dict[Path, dict[str, str]]) -> dict[Path, dict[str, Any]]:
    """The overrides each notebook declares; raises ParameterError for one that no notebook declares."""
    unused = [k for k in overrides if not any(k in types for types in declared_by.values())]
    if unused:
        every = sorted({name for types in declared_by.values() for name in types})
        raise ParameterError(f"no selected notebook declares {', '.join(map(repr, unused))}; "
                             f"they declare: {', '.join(every)}")
    return {src: {k: v for k, v in overrides.items() if k in types} for src, types in declared_by.items()}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_state() -> dict[str, Any]:
    """The checkout's commit (10 hex digits; empty outside git) and whether tracked files have uncommitted
    changes: the provenance every run and benchmark record carries."""
    return {"commit": _git("rev-parse", "--short=10", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no"))}


def lib_hash() -> str:
    """SHA-256 (first 12 hex digits) over every ``lib/**/*.py`` file's path and content."""
    h = hashlib.sha256()
    for f in sorted((paths.ROOT / "lib").rglob("*.py")):
        h.update(str(f.relative_to(paths.ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def provenance(profile: str, overrides: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """What a reader needs to know how a notebook was run: ``defaults`` is true when no parameter was
    injected (profile or override); the wall time is added after the run."""
    return {"profile": profile, "overrides": overrides, "params": params,
            **git_state(), "lib_hash": lib_hash(),
            "defaults": not params, "wall_s": None}


def _stamp(path: Path, record: dict[str, Any]) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata[PROVENANCE_KEY] = record
    nbformat.write(nb, str(path))


def declared(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The parameters a notebook declares (name → type name) in its one ``parameters`` cell."""
    from papermill.translators import PythonTranslator
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"expected exactly one cell tagged 'parameters', found {len(cells)}")
    return {p.name: p.inferred_type_name for p in PythonTranslator.inspect(cells[0])}


def profile_params(src: Path, profile: str) -> dict[str, Any]:
    """The parameters of ``profile`` for one notebook source from its chapter's ``params.yml``."""
    if profile == "cpu":
        return {}
    spec_file = src.parent / "params.yml"
    spec = (yaml.safe_load(spec_file.read_text()) or {}) if spec_file.exists() else {}
    if profile not in spec:
        if profile in OPTIONAL_PROFILES:
            return {}
        raise SystemExit(f"{src.parent.name}: no profile {profile!r} in params.yml "
                         f"(profiles: {', '.join(['cpu', *spec]) })")
    return dict((spec[profile] or {}).get(src.stem) or {})


def validate(src: Path, nb: nbformat.NotebookNode, params: dict[str, Any]) -> None:
    """Raise ParameterError for an undeclared parameter or a value of the wrong type."""
    types = declared(nb)
    where = f"{src.parent.name}/{src.name}"
    for name, value in params.items():
        if name not in types:
            raise ParameterError(f"{where}: unknown parameter {name!r}; it declares: {', '.join(types)}")
        allowed = TYPES.get(types[name])
        if allowed is None:
            raise ParameterError(f"{where}: parameter {name!r} has no type annotation in the notebook")
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            raise ParameterError(f"{where}: parameter {name!r} expects {types[name]}, "
                                 f"got {value!r} ({type(value).__name__})")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["steps=10", "lr=1e-3"]`` → ``{"steps": 10, "lr": 0.001}`` (values YAML-typed)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"-p takes key=value, got {item!r}")
        key, value = item.split("=", 1)
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str):   # YAML 1.1 reads 1e-3 as a string
            try:
                parsed = float(parsed)
            except ValueError:
                pass
        out[key.strip()] = parsed
    return out


def execute(src: Path, params: dict[str, Any], *, out_dir: Path, prepare_only: bool, timeout: int,
            record: dict[str, Any] | None = None) -> Path:
    """Run (or only parameterise) one notebook with papermill; returns the executed notebook's path.
    ``record`` (see ``provenance``) is stored in its metadata, with the wall time when executed."""
    import papermill as pm
    out = out_dir / src.parent.name / src.name
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pm.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3", cwd=str(paths.ROOT),
                        prepare_only=prepare_only, progress_bar=False, execution_timeout=timeout,
                        log_output=False)
    if record is not None:
        _stamp(out, record | ({} if prepare_only else {"wall_s": round(time.perf_counter() - t0, 1)}))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lib.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("chapters", nargs="*", help="chapters or chapter/notebook (default: every chapter)")
    ap.add_argument("--profile", default="cpu", help="parameter profile from params.yml (default: cpu)")
    ap.add_argument("-p", dest="params", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter in the notebooks that declare it")
    ap.add_argument("-j", dest="jobs", type=int, default=1, help="notebooks run side by side (default 1)")
    ap.add_argument("--prepare-only", action="store_true", help="inject parameters without executing")
    ap.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    ap.add_argument("--out-dir", type=Path, default=paths.BOOK, help="where executed notebooks go")
    a = ap.parse_args(argv)
    if a.jobs < 1:
        raise SystemExit(f"-j takes a positive number of notebooks, got {a.jobs}")
    overrides = parse_overrides(a.params)
    selected = sources(a.chapters)
    notebooks = {src: nbformat.read(src, as_version=4) for src in selected}
    jobs = []
    try:
        mine = applicable(overrides, {src: declared(nb) for src, nb in notebooks.items()})
        for src, nb in notebooks.items():
            params = profile_params(src, a.profile) | mine[src]
            validate(src, nb, params)
            jobs.append((src, params, provenance(a.profile, mine[src], params)))
    except ParameterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def one(job: tuple[Path, dict[str, Any], dict[str, Any]]) -> bool:
        src, params, record = job
        t0 = time.perf_counter()
        try:
            execute(src, params, out_dir=a.out_dir, prepare_only=a.prepare_only, timeout=a.timeout,
                    record=record)
            status = "ok"
        except Exception as e:   # report every failing notebook, then exit non-zero
            status = "FAILED"
            print(f"{src.parent.name}/{src.name}: {e}", file=sys.stderr)
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        print(f"{status:6s} {time.perf_counter() - t0:7.1f}s  {src.parent.name}/{src.name}"
              + (f"  [{shown}]" if shown else ""), flush=True)
        return status == "ok"

    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        results = list(pool.map(one, jobs))
    return 0 if all(results) else 1

if __name__ == "__main__":
    sys.exit(main())
