"""Run by tests/core/test_train.py under torchrun: the tiny training runs of ``run()`` on N gloo processes."""
import json
import sys

import numpy as np
import torch

from lib.core import models, train


def run(steps: int = 6, loss: str = "lm", grad_accum: int = 1) -> list[float]:
    """A fixed tiny run: 2-layer Llama, global batch 8 × 16 tokens, random token data. ``loss="mdm"``:
    a bidirectional model trained with the MDM's ELBO (``lib.smdm.mdm``), its noise per sample
    (``SampleNoise``: a function of (seed, step, global sample index), so each rank draws its own)."""
    torch.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, 50, 5000)
    if loss == "lm":
        model, loss_fn = models.tiny_llama(50, d_model=32, n_layers=2, n_heads=2), train.lm_loss
    else:
        from lib.smdm import mdm
        model = models.tiny_llama(51, d_model=32, n_layers=2, n_heads=2, is_causal=False)
        loss_fn = mdm.loss_fn("mdm", 50, sample_noise=True)
    history = train.train(model, train.lm_batches(tokens, 8, 16, seed=0),
                          train.TrainConfig(steps=steps, lr=1e-2, grad_accum=grad_accum), loss_fn=loss_fn,
                          progress=False)
    return history.loss.tolist()


if __name__ == "__main__":
    torch.set_num_threads(1)
    losses = {"lm": run(), "mdm": run(loss="mdm")}
    if torch.distributed.is_initialized() and torch.distributed.get_rank() == 0:
        with open(sys.argv[1], "w") as f:
            json.dump(losses, f)
