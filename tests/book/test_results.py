import nbformat
import yaml

from lib.book import claims, results, run


def _executed(path, records, provenance=None, png=None):
    nb = nbformat.v4.new_notebook()
    outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "..."},
                                      metadata={claims.METADATA_KEY: r}) for r in records]
    if png:
        outputs.append(nbformat.v4.new_output("display_data", data={"image/png": png}))
    nb.cells = [nbformat.v4.new_markdown_cell("# A claim, measured"), nbformat.v4.new_code_cell("x", outputs=outputs)]
    if provenance:
        nb.metadata[run.PROVENANCE_KEY] = provenance
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


HELD = dict(name="a", statement="loss | small", measured=0.5, op="<", threshold=1.0, paper="0.4 (1B)",
            unit="nats", held=True)
SHOWN = dict(HELD, name="b", statement="reported one", op=None, threshold=None, held=None)
CHECK = dict(HELD, name="c", statement="beats unigram", kind="check")


def test_results_page_lists_claims_and_checks_apart(tmp_path):
    _executed(tmp_path / "03_x" / "01_y.ipynb", [HELD, SHOWN, CHECK])
    page, tallies = results.render(tmp_path)
    assert ("**Book: 1 paper claims asserted and held; 1 numbers reported without an assert; 1 of 1 sanity "
            "checks held.**") in page
    assert "{doc}`A claim, measured <03_x/01_y>`" in page
    assert "| *held* | claim | loss \\| small | 0.5 nats | < 1 | 0.4 (1B) |" in page
    assert "| *reported* | claim | reported one | 0.5 nats | no |" in page
    assert "| *held* | check | beats unigram |" in page
    assert tallies["03_x"].status() == "partly" and results.Tally().status() == "no paper claims"


def test_unexecuted_notebook_is_flagged(tmp_path):
    _executed(tmp_path / "00_a" / "01_b.ipynb", [])
    assert "was the notebook executed?" in results.render(tmp_path)[0]


def test_chapter_heading_comes_from_its_landing_page(tmp_path):
    _executed(tmp_path / "03_x" / "01_y.ipynb", [])
    (tmp_path / "03_x" / "index.md").write_text("# 3. A paper\n\ntext\n")
    assert "## 3. A paper" in results.render(tmp_path)[0]


def test_provenance_shown_and_non_default_runs_marked(tmp_path):
    record = {"profile": "cpu", "overrides": {"steps": 2}, "params": {"steps": 2}, "commit": "abc",
              "dirty": True, "lib_hash": "123456789abc", "defaults": False, "wall_s": 12.0}
    _executed(tmp_path / "03_x" / "01_y.ipynb", [HELD], provenance=record)
    page, tallies = results.render(tmp_path)
    assert "**not the defaults**: `steps=2`" in page and "(uncommitted changes)" in page and "wall 12 s" in page
    assert tallies["03_x"].not_default == ["01_y"]


def test_grid_lists_every_paper_missing_ones_too(tmp_path):
    spec = {"03_x": {"title": "X", "authors": "A, B", "arxiv": "1", "headline": "h"},
            "04_z": {"title": "Z", "authors": "C", "arxiv": "", "headline": "k"}}
    (tmp_path / "chapters.yml").write_text(yaml.safe_dump(spec))
    tally = results.Tally(held=2, wall_s=120)
    table = results.grid({"03_x": tally}, tmp_path / "chapters.yml", tmp_path / "gen")
    assert "| reproduced (2 of 2 claims) | 2.0 min |" in table
    assert "**04_z**: Z<br>C. | k | *chapter not yet written* |" in table
