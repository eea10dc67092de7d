"""Gather every measured claim from the executed notebooks into one results page.

    python -m lib.book.results        # writes book/results.md (run after the notebooks, before the build)

Each ``lib.book.claims`` call leaves an output whose metadata holds the claim; this module reads them back
from ``book/<chapter>/*.ipynb`` and writes a table per chapter: ours beside the paper's, with links."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat

from lib.book import paths
from lib.book.claims import METADATA_KEY, Claim

PAGE = paths.BOOK / "results.md"


def notebook_claims(path: Path) -> Iterator[Claim]:
    """The claims recorded in one executed notebook, in order."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get(METADATA_KEY)
            if record:
                yield Claim(**record)


def title(path: Path) -> str:
    """A notebook's page title: its first Markdown heading."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(book: Path = paths.BOOK) -> str:
    """The results page as MyST Markdown."""
    lines = ["# Results: every claim, measured", "",
             "Each row is a number a notebook measured at its own (CPU) scale when this book was built, "
             "beside the paper's. *held*: the asserted claim held; **failed**: it did not (the build would have "
             "failed); *reported*: a number shown but not asserted (the notebook says why).", ""]
    total = held = 0
    for chapter in sorted(p for p in book.iterdir() if p.is_dir() and p.name[:2].isdigit()):
        executed = sorted(chapter.glob("*.ipynb"))
        if not executed:
            continue
        index = chapter / "index.md"
        heading = index.read_text().splitlines()[0].lstrip("# ").strip() if index.exists() else chapter.name
        lines += [f"## {heading}", ""]
        for path in executed:
            claims = list(notebook_claims(path))
            doc = f"{chapter.name}/{path.stem}"
            lines += [f"**{{doc}}`{_cell(title(path))} <{doc}>`**", ""]
            if not claims:
                lines += ["(no measured claims recorded: was the notebook executed?)", ""]
                continue
            lines += ["| | claim | measured | asserted | paper |", "|---|---|---|---|---|"]
            for c in claims:
                mark = {True: "*held*", False: "**failed**", None: "*reported*"}[c.held]
                unit = f" {c.unit}" if c.unit else ""
                test = f"{c.op} {c.threshold:.4g}" if c.op else "no"
                lines.append(f"| {mark} | {_cell(c.statement)} | {c.measured:.4g}{unit} | {test} | "
                             f"{_cell(c.paper) or 'n/a'} |")
                total += c.op is not None
                held += bool(c.held)
            lines.append("")
    lines[4:4] = [f"**{held} of {total} asserted claims held.**", ""]
    return "\n".join(lines) + "\n"


def main() -> int:
    PAGE.write_text(render())
    print(f"wrote {PAGE.relative_to(paths.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
