"""The gpu profile's Stable Diffusion path on a tiny random diffusers UNet: the same ESD/SDD and meta
code runs on latents with text-embedding concepts."""
import pytest
import torch

from lib.meta_unlearning import sd
from lib.meta_unlearning.unlearn import MetaConfig, concept_rates, unlearn

diffusers = pytest.importorskip("diffusers")


def _tiny():
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=12, attention_head_dim=4, norm_num_groups=4)
    return sd.SDConcepts(unet, torch.randn(4, 5, 12))   # concepts 0..2, null 3


def test_sd_concepts_wraps_the_unet_and_noxattn_freezes_cross_attention():
    m = _tiny()
    out = m(torch.randn(2, 4, 8, 8), torch.tensor([10, 500]), torch.tensor([0, 3]))
    assert out.shape == (2, 4, 8, 8)
    frozen = sd.SDConcepts(m.unet, m.embeds, train="noxattn")
    names = [n for n, p in frozen.unet.named_parameters() if not p.requires_grad]
    assert names and all("attn2" in n or n.startswith("time_embed") for n in names)


@pytest.mark.parametrize("base", ["esd", "sdd"])
def test_meta_unlearning_step_runs_on_a_tiny_unet(base):
    m = _tiny()
    g = torch.Generator().manual_seed(0)
    lat = lambda k: torch.randn(k, 4, 8, 8, generator=g)   # noqa: E731
    data = sd.LatentPools({p: (lat(3), torch.full((3,), c)) for p, c in
                           [("hrm", 0), ("hrm_test", 0), ("attack", 0), ("tgt", 1), ("irt", 2)]})
    sched = sd.sd_schedule()
    ts = [999, 499]
    new, _ = unlearn(m, sched, data, 0, base=base, steps=1, n=2, null=m.null, shape=(4, 8, 8), timesteps=ts,
                     p_uncond=0.0, meta=MetaConfig(k_inner=1, inner_batch=2, inner_lr=1e-4))
    moved = sum(float((p - q).detach().abs().sum()) for p, q in zip(new.parameters(), m.parameters()))
    assert moved > 0
    rates = concept_rates(new, sched, lambda x: torch.zeros(len(x), dtype=torch.long), {0: 2, 1: 2},
                          null=m.null, shape=(4, 8, 8), timesteps=ts)
    assert rates == {0: 1.0, 1: 0.0}
