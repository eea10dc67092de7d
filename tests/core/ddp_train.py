"""Run by tests/core/test_train.py under torchrun: the tiny training run of ``run()`` on N gloo processes."""
import json
import sys

import numpy as np
import torch

from lib.core import models, train


def run(steps: int = 6) -> list[float]:
    """A fixed tiny run: 2-layer Llama, global batch 8 × 16 tokens, random token data."""
    torch.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, 50, 5000)
    model = models.tiny_llama(50, d_model=32, n_layers=2, n_heads=2)
    history = train.train(model, train.lm_batches(tokens, 8, 16, seed=0),
                          train.TrainConfig(steps=steps, lr=1e-2), progress=False)
    return history.loss.tolist()


if __name__ == "__main__":
    torch.set_num_threads(1)
    losses = run()
    if torch.distributed.is_initialized() and torch.distributed.get_rank() == 0:
        with open(sys.argv[1], "w") as f:
            json.dump(losses, f)
