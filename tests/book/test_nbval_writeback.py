"""The write-back plugin relies on nbval internals (IPyNbCell.test_outputs): run it for real on a tiny
notebook so an nbval upgrade cannot silently produce an output-less book."""
import subprocess
import sys

import nbformat

from lib.book import paths


def _notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


def _pytest(path):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "lib.book.nbval_writeback", "--nbval-lax",
                           "--nbval-current-env", "-p", "no:cacheprovider", str(path)],
                          capture_output=True, text=True, cwd=paths.ROOT, timeout=300)


def test_outputs_are_written_back_and_failure_stops_the_notebook(tmp_path):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    _notebook(good, ["x = 21", "print(x * 2)"])
    _notebook(bad, ["assert 1 == 2, 'claim failed'", "print('never')"])
    out = _pytest(good)
    assert out.returncode == 0, out.stdout + out.stderr
    cells = nbformat.read(good, as_version=4).cells
    assert cells[1].outputs[0].text == "42\n" and cells[1].execution_count == 2
    out = _pytest(bad)
    assert out.returncode == 1 and "1 failed, 1 skipped" in out.stdout
    cells = nbformat.read(bad, as_version=4).cells
    assert cells[0].outputs[0].ename == "AssertionError" and cells[1].outputs == []
