"""The library's shape: ``lib.book`` (machinery) imports neither layer below it, ``lib.core`` never
imports a paper package, paper packages never import each other, no module imports in a cycle, every
package says what it holds, and the built wheel contains every package."""
from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lib.book import paths

LIB = paths.ROOT / "lib"
SHARED = {"book", "core"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(paths.ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The library module an import statement names (a submodule if it exists, else its package)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every ``lib`` module imported anywhere in the file (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name == "lib" or name.startswith("lib."):
                target = _resolve(name, modules)
                if target and target != "lib":
                    found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _layer(module: str) -> str:
    """``book``, ``core``, a paper package's name, or ``lib`` (the package and its ``run`` entry point)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (LIB / parts[1]).is_dir() else "lib"


def _allowed(src: str, dst: str) -> bool:
    a, b = _layer(src), _layer(dst)
    if a == "lib" or a == b:
        return True
    if a == "book":
        return False
    if a == "core":
        return b == "book"
    return b in SHARED          # a paper package: the shared layers, never another paper


def test_layers_import_only_downwards():
    bad = [f"{src} imports {dst}" for src, dsts in _graph().items() for dst in sorted(dsts)
           if not _allowed(src, dst)]
    assert not bad, "import contract broken:\n" + "\n".join(bad)


def test_no_import_cycles():
    try:
        tuple(graphlib.TopologicalSorter(_graph()).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")


def test_contract_check_catches_a_paper_importing_another():
    assert not _allowed("lib.smdm.mdm", "lib.sea.dueling")
    assert not _allowed("lib.core.train", "lib.smdm.mdm")
    assert not _allowed("lib.book.run", "lib.core.plot")
    assert _allowed("lib.smdm.mdm", "lib.core.train") and _allowed("lib.core.plot", "lib.book.style")


def test_every_package_says_what_it_holds_and_is_not_empty():
    for init in LIB.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init} needs a docstring saying what it holds and who uses it"
        modules = [p for p in init.parent.glob("*.py") if p.name != "__init__.py"]
        assert modules, f"{init.parent} is an empty placeholder"
        if init.parent.name not in SHARED:
            chapters = [p.name for p in paths.NOTEBOOKS.iterdir() if p.is_dir()]
            assert any(ch.split("_", 1)[1] in doc or ch in doc for ch in chapters), \
                f"{init}: the docstring must name the chapter that uses the package"


def test_wheel_contains_every_package(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(paths.ROOT)], check=True, timeout=300,
                   cwd=tmp_path, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted(str(p.parent.relative_to(paths.ROOT)) for p in LIB.rglob("__init__.py"))
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert not missing, f"the wheel lacks {missing}"
