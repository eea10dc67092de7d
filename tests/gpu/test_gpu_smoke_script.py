"""``benchmarks/gpu_smoke.py`` end to end in its dry mode (CPU, minimal sizes) on a minimal subset: one
suite test and one notebook, as CI exercises it (the full dry run: ``make gpu-smoke`` without CUDA)."""
import subprocess
import sys

from lib.book import paths


def test_dry_run_on_a_minimal_subset_writes_the_report(tmp_path):
    report = tmp_path / "report.md"
    proc = subprocess.run([sys.executable, str(paths.ROOT / "benchmarks" / "gpu_smoke.py"), "--dry-run",
                           "--only", "suite:10_vocab", "--only", "06_attention_sink/03_removing_the_sink",
                           "--report", str(report), "--out-dir", str(tmp_path / "nb")],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = report.read_text()
    assert "dry run" in text and "**2 of 2 items passed**" in text
    assert "| `suite::test_10_vocab_scaling_isoflop_run` | pass |" in text
    assert "| `06_attention_sink/03_removing_the_sink` | pass |" in text
    assert (tmp_path / "nb" / "06_attention_sink" / "03_removing_the_sink.ipynb").exists()


def test_unknown_items_are_refused():
    proc = subprocess.run([sys.executable, str(paths.ROOT / "benchmarks" / "gpu_smoke.py"), "--dry-run",
                           "--only", "99_nothing"], cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "unknown items" in proc.stderr
