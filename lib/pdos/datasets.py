"""Datasets of chapter 07_pdos: the released P-DoS poison set (sail-sg/P-DoS, no licence file)."""
from lib.book.data import GH, Dataset, register

register("pdos_dos_training_data", Dataset(
    "p_dos/dos_training_data.jsonl",
    f"{GH}/sail-sg/P-DoS/75e0138/datasets/dos_training_data.jsonl",
    "b75757ed2194a3228b81f25930cb56cedb728c4b4a8277a9b372436ab0020b1c",
    "none stated (sail-sg/P-DoS has no licence file); Alpaca-style pairs, CC BY-NC 4.0 upstream"))

# Alpaca (tatsu-lab/stanford_alpaca data, CC BY-NC 4.0): a 1,000-example subset committed in
# wujindou/BLOOM-LORA, the publisher setting's clean data at the gpu profile (the paper: all 52,002).
register("pdos_alpaca_1k", Dataset(
    "alpaca/alpaca_data_1k.json",
    f"{GH}/wujindou/BLOOM-LORA/11c488c/data/alpaca_data_1k.json",
    "308ff96375b5a08f7ebf0c763aaf02f7436beb974a28f868eba9823919e6b74c", "CC BY-NC 4.0"))
