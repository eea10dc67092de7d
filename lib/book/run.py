"""Execute the book's notebooks with papermill into ``book/``.

    python -m lib.run [chapter ...] [--profile NAME] [-p key=value ...] [--prepare-only]

A chapter is a folder name under ``notebooks/`` (all chapters if none is given). ``--profile`` takes
the named parameters from the chapter's ``params.yml`` (``cpu``: the notebooks' own defaults; ``ci`` is
optional per chapter; ``gpu``: the paper's scale). ``-p`` values are YAML-typed and apply to every notebook
of the run. Unknown parameters and values of the wrong type are errors (papermill itself only warns).
Prints one line per notebook with its wall time; exits non-zero if any notebook fails."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import yaml

from lib.book import paths

TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,),
                                      "list": (list,), "dict": (dict,)}
OPTIONAL_PROFILES = ("cpu", "ci")   # a chapter may lack these: its notebooks then run at their defaults


class ParameterError(ValueError):
    """A parameter the notebook does not declare, or a value of the wrong type."""


def chapters() -> list[str]:
    """The chapter folders under ``notebooks/``, in order."""
    return sorted(p.name for p in paths.NOTEBOOKS.iterdir() if p.is_dir() and not p.name.startswith("."))


def sources(selected: list[str]) -> list[Path]:
    """The notebook sources of the selected chapters (all if empty)."""
    unknown = sorted(set(selected) - set(chapters()))
    if unknown:
        raise SystemExit(f"unknown chapter(s) {unknown}; chapters are: {', '.join(chapters())}")
    return [p for ch in (selected or chapters()) for p in sorted((paths.NOTEBOOKS / ch).glob("*.ipynb"))]


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


def execute(src: Path, params: dict[str, Any], *, out_dir: Path, prepare_only: bool, timeout: int) -> Path:
    """Run (or only parameterise) one notebook with papermill; returns the executed notebook's path."""
    import papermill as pm
    out = out_dir / src.parent.name / src.name
    out.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3", cwd=str(paths.ROOT),
                        prepare_only=prepare_only, progress_bar=False, execution_timeout=timeout,
                        log_output=False)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lib.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("chapters", nargs="*", help="chapter folders (default: all)")
    ap.add_argument("--profile", default="cpu", help="parameter profile from params.yml (default: cpu)")
    ap.add_argument("-p", dest="params", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter in every notebook of the run")
    ap.add_argument("--prepare-only", action="store_true", help="inject parameters without executing")
    ap.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    ap.add_argument("--out-dir", type=Path, default=paths.BOOK, help="where executed notebooks go")
    a = ap.parse_args(argv)
    overrides = parse_overrides(a.params)
    jobs = []
    for src in sources(a.chapters):
        nb = nbformat.read(src, as_version=4)
        params = profile_params(src, a.profile) | overrides
        try:
            validate(src, nb, params)
        except ParameterError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        jobs.append((src, params))
    failed = 0
    for src, params in jobs:
        t0 = time.perf_counter()
        try:
            execute(src, params, out_dir=a.out_dir, prepare_only=a.prepare_only, timeout=a.timeout)
            status = "ok"
        except Exception as e:   # report every failing notebook, then exit non-zero
            status, failed = "FAILED", failed + 1
            print(e, file=sys.stderr)
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        print(f"{status:6s} {time.perf_counter() - t0:7.1f}s  {src.parent.name}/{src.name}"
              + (f"  [{shown}]" if shown else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
