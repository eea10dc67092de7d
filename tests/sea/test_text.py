"""SEA's text setting (``lib.sea.text``) through the same loop as the tiny task, with tiny models built
from configs standing in for the hub ones: a GPT-NeoX policy (Pythia's architecture), a Llama reward
model with one output (Skywork's), and a prompt table shaped like ``lkevinzc/tldr-with-sft-reference``."""
import copy

import datasets
import nbformat
import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, LlamaConfig, LlamaForSequenceClassification

from lib.book import paths, run
from lib.core import preference, tokenizer
from lib.sea import alignment as sea, text as sea_text

REF_KEY = "pythia-1b-reference"


def _table(n: int, offset: int = 0) -> datasets.Dataset:
    posts = [f"SUBREDDIT: r/tifu\nTITLE: post {i}\nPOST: i lost my keys{' again' * (i % 3)}.\nTL;DR:"
             for i in range(offset, offset + n)]
    return datasets.Dataset.from_dict({"prompt": posts, REF_KEY: [f" lost keys {i}" for i in range(n)],
                                       "pythia-2.8b-reference": [" keys"] * n})


def _setting(gen_batch: int = 0, response_len: int = 5):
    data = {"train": _table(24), "test": _table(8, offset=100)}
    text = "".join(list(data["train"]["prompt"]) + list(data["test"]["prompt"]) + list(data["test"][REF_KEY]))
    tok = tokenizer.char_tokenizer(text)
    rm_tok = tokenizer.char_tokenizer(text)
    rm_tok.add_special_tokens({"pad_token": "<pad>"})
    torch.manual_seed(0)
    policy = GPTNeoXForCausalLM(GPTNeoXConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=128, rotary_pct=0.25, eos_token_id=tok.eos_token_id,
        bos_token_id=tok.eos_token_id))
    rm = LlamaForSequenceClassification(LlamaConfig(
        vocab_size=len(rm_tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=128, num_labels=1, pad_token_id=rm_tok.pad_token_id))
    return sea_text.make_text_env(policy, data, REF_KEY, rm, policy_tokenizer=tok, oracle_tokenizer=rm_tok,
                                  response_len=response_len, gen_batch=gen_batch, device="cpu")


def _hand_reward(env, prompt: str, response: str) -> float:
    """The reward model on one unpadded (prompt, response) string."""
    ids = env.oracle.tokenizer(prompt + response, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return float(env.oracle.model(input_ids=ids).logits[0, 0])


def test_responses_end_at_the_end_token_and_sequences_match_unpadded_logps():
    env, sft = _setting()
    eos, pad = env.tokenizer.eos_token_id, env.tokenizer.pad_token_id
    assert pad == eos                                   # Pythia-like: no pad token, the end token pads
    a, b = env.tokenizer.convert_tokens_to_ids(["k", "e"])
    y = torch.tensor([[a, b, eos, a, a], [a, a, a, a, a], [b, eos, eos, eos, eos]])
    assert env.response_mask(y).long().tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
    x = env.eval_prompts(3)
    assert (x.attention_mask[:, 0] == 0).any() and (x.attention_mask[:, -1] == 1).all()   # left-padded
    assert env.decode(x, y)[1] == ["ke", "kkkkk", "e"] and a != b != env.tokenizer.unk_token_id
    ids, resp, attn = env.sequences(x[torch.tensor([0, 1, 2, 0, 1, 2])], torch.cat([y, y.flip(0)]))
    assert ids.shape[0] == 6 and resp.sum(1).tolist() == [3, 5, 2, 2, 5, 3]
    assert (attn[:, 0] == 1).all()                      # right-padded: every row starts at position 0
    lp = preference.sequence_logps(sft, ids, resp, attn)
    for i in range(6):
        n = int(attn[i].sum())
        alone = preference.sequence_logps(sft, ids[i:i + 1, :n], resp[i:i + 1, :n])
        assert torch.allclose(lp[i], alone[0], atol=1e-5)
    torch.manual_seed(0)
    out = env.respond(sft, x, 2)
    assert out.shape == (3, 2, 5) and (out[~env.response_mask(out)] == pad).all()
    f = env.features(x, out)
    assert f.shape == (3, 2, env.feature_dim) and env.feature_dim == 32
    chunked, _ = _setting(gen_batch=2)
    assert torch.allclose(chunked.features(x, out), f, atol=1e-5)


def test_oracle_and_win_rate_against_the_sft_references_match_a_hand_computation():
    env, sft = _setting()
    x = env.eval_prompts(8)
    ref = env.reference_rewards(sft, x)
    hand_ref = torch.tensor([_hand_reward(env, p, r) for p, r in zip(x.text, x.references)])
    assert torch.allclose(ref, hand_ref, atol=1e-5) and x.references[0] == " lost keys 0"
    y = env.respond(sft, x, 1, sample=False)[:, 0]
    hand_pol = torch.tensor([_hand_reward(env, p, r) for p, r in zip(x.text, env.decode(x, y)[1])])
    hand = float(((hand_pol > hand_ref).float() + 0.5 * (hand_pol == hand_ref).float()).mean())
    assert 0 < hand < 1 and sea.lm_win_rate(env, sft, x, ref) == hand
    assert sea.lm_win_rate(env, sft, x, env.oracle_reward(x, y)) == 0.5      # the greedy policy against itself
    assert sea.win_fraction(torch.tensor([1.0, -1.0, 0.0, 2.0])) == 0.625
    env.oracle.tokenizer.chat_template = "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}"
    assert env.oracle.texts(["post"], [" summary"]) == ["[user]post[assistant] summary"]
    assert env.oracle.score(["post"], [" summary"]).shape == (1,)


@pytest.mark.parametrize("agent", ["offline", "online", "sea"])
def test_the_online_loop_queries_the_oracle_only_for_the_chosen_duels(agent, monkeypatch):
    env, sft = _setting()
    before = copy.deepcopy(sft.state_dict())
    duels, scored = [], []
    real_duel, real_score = sea.oracle_prefers_first, env.oracle.score

    def spy_duel(env, x, a, b, **kw):
        duels.append(len(x))
        return real_duel(env, x, a, b, **kw)

    def spy_score(prompts, responses):
        scored.append(len(prompts))
        return real_score(prompts, responses)
    monkeypatch.setattr(sea, "oracle_prefers_first", spy_duel)
    monkeypatch.setattr(env.oracle, "score", spy_score)
    cfg = sea.LMAlignConfig(rounds=3, batch=4, n_samples=4, n_heads=3, eval_every=2, n_eval=6, lr=1e-2)
    curve = sea.run_lm_alignment(env, sft, agent, cfg, seed=0)
    assert list(curve.queries) == [0, 8, 12] and curve.win_rate.between(0, 1).all()
    assert duels == [4, 4, 4] and sum(duels) == curve.queries.iloc[-1]
    # the oracle scores both responses of each duel, the references once, the policy at each evaluation;
    # SEA's 4 candidates per prompt are ranked by its own reward model, never by the oracle
    assert sum(scored) == 2 * 12 + 6 + 6 * len(curve)
    assert all(torch.equal(v, sft.state_dict()[k]) for k, v in before.items())   # the reference stays frozen


def test_micro_batches_accumulate_the_same_gradient():
    env, sft = _setting()
    x = env.sample_prompts(3, torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    y = env.respond(sft, x, 2)
    steps = {}
    for mb in (0, 1):
        policy = copy.deepcopy(sft)
        opt = torch.optim.SGD(policy.parameters(), lr=1.0)
        sea._dap_step(env, policy, sft, opt, x, y[:, 0], y[:, 1], sea.LMAlignConfig(loss="ipo", micro_batch=mb))
        steps[mb] = torch.cat([(p - q).flatten() for p, q in zip(policy.parameters(), sft.parameters())])
    assert steps[0].abs().sum() > 0 and torch.allclose(steps[0], steps[1], atol=1e-6)


def test_bad_inputs_name_the_parameter_and_what_is_allowed():
    with pytest.raises(ValueError, match=r"setting must be one of \('tiny', 'tldr'\), got 'tl;dr'"):
        sea.check_lm_setting("tl;dr")
    assert sea.check_lm_setting("tldr") == "tldr"
    data = {"train": _table(4), "test": _table(4)}
    with pytest.raises(ValueError, match=r"reference_key 'pythia-6.9b-reference' is not a column.*"
                                         r"columns: \['prompt', 'pythia-1b-reference', 'pythia-2.8b-reference'\]"):
        sea_text.load_prompt_table(data, "test", reference_key="pythia-6.9b-reference")
    with pytest.raises(ValueError, match=r"split 'validation' is not in the prompt dataset; "
                                         r"splits: \['test', 'train'\]"):
        sea_text.load_prompt_table(data, "validation")
    with pytest.raises(ValueError, match="prompt_key 'query'"):
        sea_text.load_prompt_table(data, "train", prompt_key="query")
    env, sft = _setting()
    with pytest.raises(ValueError, match="policy_tokenizer is required"):
        sea_text.make_text_env(sft, data, REF_KEY, env.oracle.model, oracle_tokenizer=env.oracle.tokenizer)
    with pytest.raises(ValueError, match=r"n_eval \(9\) is larger than the 8 evaluation prompts"):
        env.eval_prompts(9)


def test_gpu_profile_switches_notebook_3_to_the_tldr_setting(tmp_path):
    assert run.main(["02_sea", "--profile", "gpu", "--prepare-only", "--out-dir", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / "02_sea" / "03_tiny_lm.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])).source
    for line in ('setting = "tldr"', 'policy = "trl-lib/pythia-1b-deduped-tldr-sft"',
                 'prompts = "lkevinzc/tldr-with-sft-reference"', 'reference_key = "pythia-1b-reference"',
                 'oracle = "Skywork/Skywork-Reward-Llama-3.1-8B"'):
        assert line in injected
    src = nbformat.read(paths.NOTEBOOKS / "02_sea" / "03_tiny_lm.ipynb", as_version=4)
    assert run.declared(src)["setting"] == "str"
