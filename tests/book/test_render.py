"""The rendered book in a real browser: every notebook page loads, shows its figures, has no traceback
or raw TeX, and requests nothing outside 127.0.0.1 (headless Debian Chromium driven by Playwright).
Run after the build (`make html`); in CI a missing book or browser is a failure, not a skip."""
import functools
import http.server
import os
import shutil
import threading

import pytest

from lib.book import paths

HTML = paths.ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NO_FIGURE = set()   # notebook pages that legitimately show no figure ("book/<chapter>/<stem>.html")

if not ((HTML / "index.html").exists() and CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("the render test needs the built book (make html) and chromium")
    pytest.skip("book not built or no chromium", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

NOTEBOOK_PAGES = sorted(p.relative_to(paths.ROOT).with_suffix(".html").as_posix()
                        for p in paths.BOOK.glob("*/*.ipynb"))
OTHER_PAGES = ["index.html", "book/results.html"] + sorted(
    p.relative_to(paths.ROOT).with_suffix(".html").as_posix() for p in paths.BOOK.glob("*/index.md"))


@pytest.fixture(scope="module")
def base_url():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _open(browser, base_url, rel):
    page = browser.new_page()
    external = []
    page.on("request", lambda r: r.url.startswith(base_url) or r.url.startswith("data:")
            or external.append(r.url))
    response = page.goto(f"{base_url}/{rel}", wait_until="networkidle")
    assert response.status == 200, f"{rel}: HTTP {response.status}"
    return page, external


def test_there_are_notebook_pages():
    assert NOTEBOOK_PAGES, "no executed notebooks in book/"


@pytest.mark.parametrize("rel", NOTEBOOK_PAGES)
def test_notebook_page(browser, base_url, rel):
    page, external = _open(browser, base_url, rel)
    images = page.evaluate("""() => Array.from(document.querySelectorAll('.cell_output img'))
        .map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])""")
    if rel not in NO_FIGURE:
        assert images, f"{rel}: no figure in any cell output"
    assert all(ok and width > 0 for _, ok, width in images), f"{rel}: broken images {images}"
    assert page.locator(".cell_output .output.traceback").count() == 0, f"{rel}: traceback on the page"
    assert page.locator(".output.stderr").count() == 0, f"{rel}: stderr on the page"
    page.wait_for_function("() => !window.MathJax || MathJax.startup.promise")
    text = page.inner_text("article")
    assert "\\(" not in text and "\\[" not in text and "$$" not in text, f"{rel}: raw TeX left"
    assert "{glue" not in text, f"{rel}: an unresolved glue reference"
    assert not external, f"{rel}: requests outside the book {external}"
    page.close()


@pytest.mark.parametrize("rel", OTHER_PAGES)
def test_other_page(browser, base_url, rel):
    page, external = _open(browser, base_url, rel)
    assert not external, f"{rel}: requests outside the book {external}"
    page.close()


def test_landing_page_shows_the_ten_papers(browser, base_url):
    page, _ = _open(browser, base_url, "index.html")
    rows = page.locator(".papers-grid table tbody tr")
    assert rows.count() == 11, f"the grid has {rows.count()} rows, expected chapters 00-10"
    statuses = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    known = ("reproduced", "partly", "not at CPU scale", "no paper claims", "chapter not yet written")
    assert all(any(k in s for k in known) for s in statuses), f"rows without a status: {statuses}"
    thumbs = page.evaluate("""() => Array.from(document.querySelectorAll('.papers-grid img'))
        .map(i => [i.complete, i.naturalWidth])""")
    assert thumbs and all(ok and width > 0 for ok, width in thumbs), f"broken thumbnails {thumbs}"
    page.close()
