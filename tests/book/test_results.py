import nbformat

from lib.book import claims, results


def _executed(path, records):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A claim, measured"),
                nbformat.v4.new_code_cell("x", outputs=[
                    nbformat.v4.new_output("display_data", data={"text/markdown": "..."},
                                           metadata={claims.METADATA_KEY: r}) for r in records])]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_results_page_lists_claims_with_links(tmp_path):
    held = dict(name="a", statement="loss | small", measured=0.5, op="<", threshold=1.0, paper="0.4 (1B)",
                unit="nats", held=True)
    shown = dict(held, name="b", statement="reported one", op=None, threshold=None, held=None)
    _executed(tmp_path / "03_x" / "01_y.ipynb", [held, shown])
    page = results.render(tmp_path)
    assert "**1 of 1 asserted claims held.**" in page
    assert "{doc}`A claim, measured <03_x/01_y>`" in page
    assert "| *held* | loss \\| small | 0.5 nats | < 1 | 0.4 (1B) |" in page
    assert "| *reported* | reported one | 0.5 nats | no |" in page


def test_unexecuted_notebook_is_flagged(tmp_path):
    _executed(tmp_path / "00_a" / "01_b.ipynb", [])
    assert "was the notebook executed?" in results.render(tmp_path)


def test_chapter_heading_comes_from_its_landing_page(tmp_path):
    _executed(tmp_path / "03_x" / "01_y.ipynb", [])
    (tmp_path / "03_x" / "index.md").write_text("# 3. A paper\n\ntext\n")
    assert "## 3. A paper" in results.render(tmp_path)
