"""pytest plugin: keep what nbval executed, so CI executes each notebook exactly once.

    pytest -p lib.book.nbval_writeback --nbval-lax --nbval-current-env book/

nbval runs each code cell as one test item in one kernel per notebook; this plugin copies the outputs
nbval collected (``IPyNbCell.test_outputs``) into the notebook, writes it back when its last cell is done
(for jupyter-book to render) with its wall time added to the provenance the runner recorded, skips the
rest of a notebook after its first failing cell, and prints each notebook's wall time at the end."""
from __future__ import annotations

import nbformat
import pytest

from lib.book.run import PROVENANCE_KEY


def pytest_runtest_setup(item: pytest.Item) -> None:
    if getattr(item.parent, "_nb_failed", False):
        item.cell.outputs = []
        pytest.skip("an earlier cell of this notebook failed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    if call.when != "call" or not hasattr(item, "test_outputs"):
        return
    if outcome.get_result().failed:
        item.parent._nb_failed = True
    if item.test_outputs is not None:
        item.cell.outputs = list(item.test_outputs)
        item.cell.execution_count = item.cell_num + 1


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    nb = getattr(item.parent, "nb", None)
    if nb is None or (nextitem is not None and nextitem.parent is item.parent):
        return
    record = nb.metadata.get(PROVENANCE_KEY)
    if record is not None:
        record["wall_s"] = round(_SECONDS.get(item.nodeid.split("::")[0], 0.0), 1)
    nbformat.validate(nb)
    nbformat.write(nb, str(item.parent.path))


_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    notebook = report.nodeid.split("::")[0]
    if notebook.endswith(".ipynb"):
        _SECONDS[notebook] = _SECONDS.get(notebook, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if _SECONDS:
        terminalreporter.write_sep("-", "wall time per notebook")
        for notebook, seconds in sorted(_SECONDS.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:8.1f} s  {notebook}")
