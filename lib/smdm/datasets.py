"""Datasets of chapter 03_smdm: Berglund et al.'s reversal-curse files (Experiment 1)."""
from lib.book.data import GH, Dataset, register

_RC = f"{GH}/lukasberglund/reversal_curse/6af5f41"

# Reversal curse (Berglund et al. 2023, lukasberglund/reversal_curse, MIT per its HF card): Experiment 1's
# fictitious name<->description facts, prompt/completion JSON lines, and the 100 names that identify them.
register("berglund_p2d_prompts_train", Dataset(
    "reversal_curse/june_version_7921032488/p2d_prompts_train.jsonl",
    f"{_RC}/data/reverse_experiments/june_version_7921032488/p2d_prompts_train.jsonl",
    "8a20b9c259b67bc9c3a0f1823d132c844f98d84589d79b108a0ae0c5aa2a2391", "MIT"))
register("berglund_d2p_prompts_train", Dataset(
    "reversal_curse/june_version_7921032488/d2p_prompts_train.jsonl",
    f"{_RC}/data/reverse_experiments/june_version_7921032488/d2p_prompts_train.jsonl",
    "2d66551577306f164e9b0fd372dd997af0e90bb62690d00a2cab818ae65e47a1", "MIT"))
register("berglund_both_prompts_train", Dataset(
    "reversal_curse/june_version_7921032488/both_prompts_train.jsonl",
    f"{_RC}/data/reverse_experiments/june_version_7921032488/both_prompts_train.jsonl",
    "a389f60360e5ec1862abba47f9530c916a59483d1f6cb55015bf45197e880db5", "MIT"))
register("berglund_p2d_prompts_test", Dataset(
    "reversal_curse/june_version_7921032488/p2d_prompts_test.jsonl",
    f"{_RC}/data/reverse_experiments/june_version_7921032488/p2d_prompts_test.jsonl",
    "269fe15363c3bd1cb59cfdf4e6464f35d548d4cb786e6f7b1db84f260788e8f8", "MIT"))
register("berglund_d2p_prompts_test", Dataset(
    "reversal_curse/june_version_7921032488/d2p_prompts_test.jsonl",
    f"{_RC}/data/reverse_experiments/june_version_7921032488/d2p_prompts_test.jsonl",
    "67705c9ebd77fc030998677acae33af9f22cf4b80bb7443d4ef7e5c9c1d727c4", "MIT"))
register("berglund_p2d_reverse_prompts_test", Dataset(
    "reversal_curse/june_version_7921032488/p2d_reverse_prompts_test.jsonl",
    f"{_RC}/data/reverse_experiments/june_version_7921032488/p2d_reverse_prompts_test.jsonl",
    "963fa595ce19b330cdf07058313f3e8570b57545260256414bcb74a60c959553", "MIT"))
register("berglund_d2p_reverse_prompts_test", Dataset(
    "reversal_curse/june_version_7921032488/d2p_reverse_prompts_test.jsonl",
    f"{_RC}/data/reverse_experiments/june_version_7921032488/d2p_reverse_prompts_test.jsonl",
    "8c79da9791788ffbe77dc876ae2e34cc00f980e08c946bda188367ae1cd6ea61", "MIT"))
register("berglund_names", Dataset(
    "reversal_curse/templates/names.txt",
    f"{_RC}/data/reverse_experiments/templates/names.txt",
    "12069582b68482fefa49bfa89e234be88c360e1598d4e25a60f861f10f9d075e", "MIT"))
