"""Gather every measured claim from the executed notebooks into the results page and the landing page's
grid of papers.

    python -m lib.book.results   # writes book/results.md and book/_generated/ (after the notebooks, before the build)

Each ``lib.book.claims`` call leaves an output whose metadata holds the claim; each executed notebook holds
its provenance (``lib.book.run.PROVENANCE_KEY``). This module reads them back from ``book/<chapter>/*.ipynb``
and writes, per chapter, one line saying which paper claims reproduced, a table per notebook (ours beside
the paper's, paper claims and sanity checks told apart) and how the notebook was run. The grid
(``book/_generated/papers.md``, included by ``book/intro.md``) lists the ten papers of ``book/chapters.yml``
with each chapter's status, first figure and wall time."""
from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from lib.book import paths
from lib.book.claims import METADATA_KEY, Claim
from lib.book.run import PROVENANCE_KEY

PAGE = paths.BOOK / "results.md"
GENERATED = paths.BOOK / "_generated"
CHAPTERS = paths.BOOK / "chapters.yml"


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


def provenance(path: Path) -> dict | None:
    """How the notebook was run (``lib.book.run.provenance``), or None if it was not run by the book."""
    return nbformat.read(path, as_version=4).metadata.get(PROVENANCE_KEY)


def first_figure(path: Path) -> bytes | None:
    """The first PNG a notebook shows, or None."""
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                return base64.b64decode(png)
    return None


@dataclass
class Tally:
    """Counts of one chapter (or the whole book): paper claims held / failed / reported, checks."""
    held: int = 0
    failed: int = 0
    reported: int = 0
    checks_held: int = 0
    checks_total: int = 0
    wall_s: float = 0.0
    not_default: list[str] = field(default_factory=list)

    def add(self, c: Claim) -> None:
        if c.kind == "check":
            self.checks_total += c.op is not None
            self.checks_held += bool(c.held)
        elif c.held is None:
            self.reported += 1
        elif c.held:
            self.held += 1
        else:
            self.failed += 1

    def status(self) -> str:
        """From the paper claims: reproduced (all asserted, nothing only reported), partly (some held, some
        numbers only reported), not at CPU scale (none held)."""
        if not (self.held or self.failed or self.reported):
            return "no paper claims"
        if self.held and not (self.failed or self.reported):
            return "reproduced"
        return "partly" if self.held else "not at CPU scale"

    def line(self) -> str:
        return (f"Paper claims asserted and held at our scale: **{self.held}**"
                + (f", **failed: {self.failed}**" if self.failed else "")
                + f"; numbers reported without an assert: {self.reported} (beside the paper's; the notebooks say "
                f"which of them do not hold at our scale); sanity checks: {self.checks_held} of "
                f"{self.checks_total} held.")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _provenance_line(record: dict | None) -> str:
    if record is None:
        return "*Run outside the book's runner: provenance unknown.*"
    params = record.get("params") or {}
    how = "defaults" if record.get("defaults") else "**not the defaults**: " + ", ".join(
        f"`{k}={v}`" for k, v in params.items())
    dirty = " (uncommitted changes)" if record.get("dirty") else ""
    wall = f"{record['wall_s']:.0f} s" if record.get("wall_s") is not None else "not timed"
    return (f"*Run: profile `{record.get('profile')}`, {how}; commit `{record.get('commit') or '?'}`{dirty}, "
            f"lib `{record.get('lib_hash')}`; wall {wall}.*")


def chapter_dirs(book: Path = paths.BOOK) -> list[Path]:
    """Chapter folders of ``book/`` that hold executed notebooks."""
    return sorted(p for p in book.iterdir() if p.is_dir() and p.name[:2].isdigit() and any(p.glob("*.ipynb")))


def render(book: Path = paths.BOOK) -> tuple[str, dict[str, Tally]]:
    """The results page as MyST Markdown, and each chapter's tally."""
    body: list[str] = []
    total, tallies = Tally(), {}
    for chapter in chapter_dirs(book):
        tally = tallies[chapter.name] = Tally()
        index = chapter / "index.md"
        heading = index.read_text().splitlines()[0].lstrip("# ").strip() if index.exists() else chapter.name
        section: list[str] = []
        for path in sorted(chapter.glob("*.ipynb")):
            claims = list(notebook_claims(path))
            record = provenance(path)
            doc = f"{chapter.name}/{path.stem}"
            section += [f"**{{doc}}`{_cell(title(path))} <{doc}>`**", "", _provenance_line(record), ""]
            if record:
                tally.wall_s += record.get("wall_s") or 0.0
                if not record.get("defaults"):
                    tally.not_default.append(path.stem)
            if not claims:
                section += ["(no measured claims recorded: was the notebook executed?)", ""]
                continue
            section += ["| | kind | claim | measured | asserted | paper |", "|---|---|---|---|---|---|"]
            for c in claims:
                tally.add(c)
                total.add(c)
                mark = {True: "*held*", False: "**failed**", None: "*reported*"}[c.held]
                unit = f" {c.unit}" if c.unit else ""
                test = f"{c.op} {c.threshold:.4g}" if c.op else "no"
                section.append(f"| {mark} | {c.kind} | {_cell(c.statement)} | {c.measured:.4g}{unit} | {test} | "
                               f"{_cell(c.paper) or 'n/a'} |")
            section.append("")
        body += [f"## {heading}", "", tally.line(), ""] + section
    head = ["# Results: every claim, measured", "",
            "Each row is a number a notebook measured at its own (CPU) scale when this book was built, beside "
            "the paper's. *Kind*: a **claim** is something the paper asserts; a **check** is a sanity check of "
            "our own run (it does not count as a reproduced claim). *held*: the asserted number held; "
            "**failed**: it did not (the build would have failed); *reported*: shown but not asserted: a "
            "measurement beside the paper's, or a claim that does not hold at our scale (the notebook says "
            "which). Under each notebook: how it was run.", "",
            f"**Book: {total.held} paper claims asserted and held"
            + (f", {total.failed} failed" if total.failed else "")
            + f"; {total.reported} numbers reported without an assert; {total.checks_held} of "
            f"{total.checks_total} sanity checks held.**", ""]
    return "\n".join(head + body) + "\n", tallies


def grid(tallies: dict[str, Tally], chapters_file: Path = CHAPTERS, out: Path = GENERATED) -> str:
    """The landing page's table of the ten papers (MyST), writing each chapter's thumbnail under ``out``."""
    spec = yaml.safe_load(chapters_file.read_text())
    (out / "thumbs").mkdir(parents=True, exist_ok=True)
    rows = [":::{div} papers-grid", "", "| | chapter | the paper's headline | ours | wall |", "|---|---|---|---|---|"]
    for name, info in spec.items():
        arxiv = f" [arXiv {info['arxiv']}](https://arxiv.org/abs/{info['arxiv']})" if info.get("arxiv") else ""
        paper = f"{{doc}}`{_cell(info['title'])} </book/{name}/index>`<br>{_cell(info['authors'])}.{arxiv}"
        tally = tallies.get(name)
        if tally is None:
            rows.append(f"| | **{name}**: {_cell(info['title'])}<br>{_cell(info['authors'])}.{arxiv} | "
                        f"{_cell(info['headline'])} | *chapter not yet written* | |")
            continue
        thumb = ""
        for path in sorted((paths.BOOK / name).glob("*.ipynb")):
            png = first_figure(path)
            if png:
                (out / "thumbs" / f"{name}.png").write_bytes(png)
                thumb = f"![{name}](thumbs/{name}.png)"
                break
        n = tally.held + tally.reported + tally.failed
        status = tally.status() + (f" ({tally.held} of {n} claims)" if n else "")
        if tally.not_default:
            status += "; not run at the defaults"
        rows.append(f"| {thumb} | **{name}**: {paper} | {_cell(info['headline'])} | {status} | "
                    f"{tally.wall_s / 60:.1f} min |")
    return "\n".join(rows + ["", ":::"]) + "\n"


def main() -> int:
    page, tallies = render()
    PAGE.write_text(page)
    GENERATED.mkdir(parents=True, exist_ok=True)
    (GENERATED / "papers.md").write_text(grid(tallies))
    print(f"wrote {PAGE.relative_to(paths.ROOT)} and {GENERATED.relative_to(paths.ROOT)}/papers.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
