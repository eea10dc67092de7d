"""The book's conventions for notebook sources and the table of contents."""
import re

import nbformat
import pytest
import yaml

from lib.book import paths, run

SOURCES = sorted(paths.NOTEBOOKS.glob("*/*.ipynb"))
CHAPTERS = ["00_intro", "01_dft", "02_sea", "03_smdm", "04_simlayerkv", "05_meta_unlearning",
            "06_attention_sink", "07_pdos", "08_llm_unlearning", "09_cheating_benchmarks", "10_vocab_scaling"]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())
    out = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                out.append(e["file"])
            walk(e.get("sections"))
            walk(e.get("chapters"))
    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return out


def test_there_are_notebooks():
    assert SOURCES


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_source_is_stripped_with_one_typed_parameters_cell(src):
    nb = nbformat.read(src, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), "outputs are committed"
    types = run.declared(nb)               # exactly one parameters cell
    assert types.get("seed") == "int", "every notebook declares `seed: int`"
    cell = next(c for c in code if "parameters" in c.metadata.get("tags", []))
    for line in filter(str.strip, cell.source.splitlines()):
        assert re.match(r"^\w+: (int|float|str|bool|list) = [^#]+  # .+", line), \
            f"parameters are typed literals with a help comment: {line!r}"
        assert "=" not in line.split("  # ", 1)[1], f"papermill drops a parameter whose help has '=': {line!r}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "title first"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_chapter_folder_is_known(src):
    assert src.parent.name in CHAPTERS


def test_toc_lists_every_notebook_and_nothing_else():
    files = _toc_files()
    notebooks = {f for f in files if re.fullmatch(r"book/\d\d_\w+/\d\d_\w+", f)}
    assert notebooks == {f"book/{p.parent.name}/{p.stem}" for p in SOURCES}


def test_toc_pages_exist_and_chapters_have_landing_pages():
    files = _toc_files()
    generated = {"book/results"} | {f"book/{p.parent.name}/{p.stem}" for p in SOURCES}
    for f in files:
        assert f in generated or (paths.ROOT / f"{f}.md").exists(), f"{f} has no page"
    for chapter in {p.parent.name for p in SOURCES}:
        assert f"book/{chapter}/index" in files, f"{chapter} has no landing page in _toc.yml"
