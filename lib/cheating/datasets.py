"""Datasets of chapter 09_cheating_benchmarks (``../shared/data/SOURCES.md`` section 4): AlpacaEval 2.0's
leaderboard, judge templates, LC weights and the real GPT-4-turbo annotations of 13 models and the null model
(tatsu-lab/alpaca_eval @ cd543a1; the JSON files are mirrored gzipped, so their checksums are the .gz ones),
the null model's submission (sail-sg/Cheating-LLM-Benchmarks @ a08446f), MT-Bench (lm-sys/FastChat @ 0e6d3e4, answers
from the fork enricai/FastChat @ edacaa5) and Arena-Hard-Auto v0.1 (lm-sys/arena-hard-auto @ efc012e)."""
from lib.book.data import GH, Dataset, register

_AE = f"{GH}/tatsu-lab/alpaca_eval/cd543a1"
_CHEAT = f"{GH}/sail-sg/Cheating-LLM-Benchmarks/a08446f"
_FC = f"{GH}/lm-sys/FastChat/0e6d3e4"
_FCE = f"{GH}/enricai/FastChat/edacaa5"
_AH = f"{GH}/lm-sys/arena-hard-auto/efc012e"

register("ae_instructions", Dataset(
    "alpaca_eval/alpaca_eval_805_instructions.jsonl",
    f"{_AE}/results/gpt4_1106_preview/model_outputs.json",
    "a866e8320fce0c5fb1562343cea3f0afcd4d33b7d019e6b8d1cbd45768309d01", "Apache-2.0"))  # instruction, dataset fields extracted
register("ae_cfg_alpaca_eval_clf_gpt4_turbo_alpaca_eval_clf", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt",
    "784227e6dc2832fc08c43d2c8ea3a308e7523780187a1aaad2f85e30bac85f62", "Apache-2.0"))
register("ae_cfg_alpaca_eval_clf_gpt4_turbo_configs", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_clf_gpt4_turbo/configs.yaml",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_clf_gpt4_turbo/configs.yaml",
    "869db4f666a9cbf338c3a5c9637eb1b7d923b543b9faf03482e8845cf1921dd6", "Apache-2.0"))
register("ae_cfg_alpaca_eval_cot_gpt4_turbo_fn_alpaca_eval_fn", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_cot_gpt4_turbo_fn/alpaca_eval_fn.txt",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_cot_gpt4_turbo_fn/alpaca_eval_fn.txt",
    "12490d7306fcdcc6d3963ae03ea0d16c043cfbe2f2d10a7ff36762b6c1580b2e", "Apache-2.0"))
register("ae_cfg_alpaca_eval_cot_gpt4_turbo_fn_configs", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_cot_gpt4_turbo_fn/configs.yaml",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_cot_gpt4_turbo_fn/configs.yaml",
    "f1fd14d8bf12b5cbb2ce135878a2dfbec1da4eed921e52d7cca1f39f90370ab0", "Apache-2.0"))
register("ae_cfg_alpaca_eval_gpt4_alpaca_eval", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_gpt4/alpaca_eval.txt",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_gpt4/alpaca_eval.txt",
    "cf4bace43fa6ac71944b9ca2506587ad7c509478a219e98a3950abf9d5b42a98", "Apache-2.0"))
register("ae_cfg_alpaca_eval_gpt4_configs", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_gpt4/configs.yaml",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_gpt4/configs.yaml",
    "676717d3992d559307d63661ef1271132dfd613100f747f6ce8d58a7077c623d", "Apache-2.0"))
register("ae_cfg_alpaca_eval_gpt4_turbo_fn_alpaca_eval_fn", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_gpt4_turbo_fn/alpaca_eval_fn.txt",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_gpt4_turbo_fn/alpaca_eval_fn.txt",
    "12490d7306fcdcc6d3963ae03ea0d16c043cfbe2f2d10a7ff36762b6c1580b2e", "Apache-2.0"))
register("ae_cfg_alpaca_eval_gpt4_turbo_fn_configs", Dataset(
    "alpaca_eval/evaluators_configs/alpaca_eval_gpt4_turbo_fn/configs.yaml",
    f"{_AE}/src/alpaca_eval/evaluators_configs/alpaca_eval_gpt4_turbo_fn/configs.yaml",
    "865962092dd6cd2630f7b6e2c6d0482458437bcbeb1e83b0ae96bb2cb533084d", "Apache-2.0"))
register("ae_cfg_weighted_alpaca_eval_gpt4_turbo_configs", Dataset(
    "alpaca_eval/evaluators_configs/weighted_alpaca_eval_gpt4_turbo/configs.yaml",
    f"{_AE}/src/alpaca_eval/evaluators_configs/weighted_alpaca_eval_gpt4_turbo/configs.yaml",
    "fd5c656d9959ffd63b986c8216a81e83e001d17ced5a08defc1c857ce9dd033e", "Apache-2.0"))
register("ae_lc_weights", Dataset(
    "alpaca_eval/lc_weights/weighted_alpaca_eval_gpt4_turbo/length_controlled_v1/baseline_gpt4_1106_preview.csv",
    f"{_AE}/src/alpaca_eval/metrics/weights/weighted_alpaca_eval_gpt4_turbo/length_controlled_v1/baseline_gpt4_1106_preview.csv",
    "3bd6d5a46327020f1b3eea79ac62d537f89a953d44ab0a6da83c954e36a23254", "Apache-2.0"))
register("ae_leaderboard", Dataset(
    "alpaca_eval/leaderboards/AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv",
    f"{_AE}/src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv",
    "fe32bf85c2f7429038faa4c9a884d1d131726454ff84a4b810a91c1c7a2aa0e9", "Apache-2.0"))
register("ae_leaderboard_website", Dataset(
    "alpaca_eval/leaderboards/AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard_website.csv",
    f"{_AE}/docs/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv",
    "b32b27764198538d1679fe807d8333cb5caa670b939e32f74e57fed65f6ef6c8", "Apache-2.0"))
register("ae_NullModel_outputs", Dataset(
    "alpaca_eval/results/NullModel/model_outputs.json.gz",
    f"{_AE}/results/NullModel/model_outputs.json",
    "d957bcb6e6e72f0e3279f76175936065bf5e999e6a8d65a03e2682cc6968b50c", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_NullModel_annotations", Dataset(
    "alpaca_eval/results/NullModel/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/NullModel/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "b5508761fe775abd652f3e25b4eb6d2d5a8e34544f475e88bd61918f7b937112", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_alpaca_7b_outputs", Dataset(
    "alpaca_eval/results/alpaca-7b/model_outputs.json.gz",
    f"{_AE}/results/alpaca-7b/model_outputs.json",
    "8dab73e3b65fb6f7e4b4fcd8fca046ef5a1933f30c1aaf147bed14efa3e497b2", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_alpaca_7b_annotations", Dataset(
    "alpaca_eval/results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "2573f5f8f37418a8ea078094ba2c5422b4d51bcfa80c9580ced1dd5477a9a8d2", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_alpaca_7b_concise_outputs", Dataset(
    "alpaca_eval/results/alpaca-7b_concise/model_outputs.json.gz",
    f"{_AE}/results/alpaca-7b_concise/model_outputs.json",
    "ffa207cd0b39534dc04ba120f82f04d0fec413e5fe1f794541b2e4d590192040", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_alpaca_7b_concise_annotations", Dataset(
    "alpaca_eval/results/alpaca-7b_concise/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/alpaca-7b_concise/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "686c3048cec998ac326347bae0053183227b3ee9706587b41723f7bc251621e6", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_alpaca_7b_verbose_outputs", Dataset(
    "alpaca_eval/results/alpaca-7b_verbose/model_outputs.json.gz",
    f"{_AE}/results/alpaca-7b_verbose/model_outputs.json",
    "3129aaaee62c76c7b0cdd36ab8d7c0bfd4c66a0a5a11a1a4763e3058250d5597", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_alpaca_7b_verbose_annotations", Dataset(
    "alpaca_eval/results/alpaca-7b_verbose/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/alpaca-7b_verbose/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "2293c344528c6921b51f628d851eedad743e1cd9546f06666eb32b382638b5fd", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_claude_2_1_outputs", Dataset(
    "alpaca_eval/results/claude-2.1/model_outputs.json.gz",
    f"{_AE}/results/claude-2.1/model_outputs.json",
    "32e811943dd910dc81b86fe770af610e0c691255bb37463e022af42c94a2ae99", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_claude_2_1_annotations", Dataset(
    "alpaca_eval/results/claude-2.1/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/claude-2.1/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "7b71431ed09034b13e248e1ba45bec69346c041d4cb0123df5313d24bd779b72", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_claude_2_1_concise_outputs", Dataset(
    "alpaca_eval/results/claude-2.1_concise/model_outputs.json.gz",
    f"{_AE}/results/claude-2.1_concise/model_outputs.json",
    "dda2e8d6fbadea215867fc6e64155ce9a6d531472405d22618d08a3f23c0d8da", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_claude_2_1_concise_annotations", Dataset(
    "alpaca_eval/results/claude-2.1_concise/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/claude-2.1_concise/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "1acdc759cec8bf976fed0ce201c185284e67e12858a49328c8c40dd27f959cb3", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt_3_5_turbo_1106_outputs", Dataset(
    "alpaca_eval/results/gpt-3.5-turbo-1106/model_outputs.json.gz",
    f"{_AE}/results/gpt-3.5-turbo-1106/model_outputs.json",
    "443e52e3521d706a66f11c6f52ee7420f8a59974c339c8565e0993014a02b6cd", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt_3_5_turbo_1106_annotations", Dataset(
    "alpaca_eval/results/gpt-3.5-turbo-1106/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/gpt-3.5-turbo-1106/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "27834e20f8a9da1283b6e409f6b6c865eb8db7f130b4956a5783775ff592ab5a", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt_3_5_turbo_1106_concise_outputs", Dataset(
    "alpaca_eval/results/gpt-3.5-turbo-1106_concise/model_outputs.json.gz",
    f"{_AE}/results/gpt-3.5-turbo-1106_concise/model_outputs.json",
    "75dbbdce4e9a71202da39cf5ad6fd68c6b6ad96c8c1daf93c5af8f36f7200c38", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt_3_5_turbo_1106_concise_annotations", Dataset(
    "alpaca_eval/results/gpt-3.5-turbo-1106_concise/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/gpt-3.5-turbo-1106_concise/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "a2c5345c9b581c3ed5497ca0426f94d9a0ff8a6cf46e7bb95c88dd255342a063", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt_3_5_turbo_1106_verbose_outputs", Dataset(
    "alpaca_eval/results/gpt-3.5-turbo-1106_verbose/model_outputs.json.gz",
    f"{_AE}/results/gpt-3.5-turbo-1106_verbose/model_outputs.json",
    "c4a9063be4f56f8ab6fe35de04949351397a5621969edafa5b2a96be763b1e93", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt_3_5_turbo_1106_verbose_annotations", Dataset(
    "alpaca_eval/results/gpt-3.5-turbo-1106_verbose/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/gpt-3.5-turbo-1106_verbose/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "0147d2150e1a049a4798258c927bc41f7272a17df65f684ac13fa1735a743946", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt4_1106_preview_outputs", Dataset(
    "alpaca_eval/results/gpt4_1106_preview/model_outputs.json.gz",
    f"{_AE}/results/gpt4_1106_preview/model_outputs.json",
    "91710d132e0af6208a9e6d5cff8b3bbec7b74b53459fab8be802ec75da1c237c", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt4_1106_preview_annotations", Dataset(
    "alpaca_eval/results/gpt4_1106_preview/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/gpt4_1106_preview/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "28842c0c6818c97e831abb54ecdd2b90c1122018ac7edab3ea0349f3d55022cc", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt4_gamed_outputs", Dataset(
    "alpaca_eval/results/gpt4_gamed/model_outputs.json.gz",
    f"{_AE}/results/gpt4_gamed/model_outputs.json",
    "04bcbb9cac84fce9dda7482253586ab70c09163e61a126beb10df27bd3f359d9", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_gpt4_gamed_annotations", Dataset(
    "alpaca_eval/results/gpt4_gamed/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/gpt4_gamed/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "e94f81fadff47f8a2fd4a96f8c8bc83c39b333b6e5eb4088f18b1316c220e511", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_phi_2_outputs", Dataset(
    "alpaca_eval/results/phi-2/model_outputs.json.gz",
    f"{_AE}/results/phi-2/model_outputs.json",
    "8ac0bfa204be77ab8f42c7fe4d3a1d24c3c409b93a8fa9c5cd7b61ef8c9b6c9a", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_phi_2_annotations", Dataset(
    "alpaca_eval/results/phi-2/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/phi-2/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "f21e80b7bd951dae472b461c7d49c29db8ff73aed49407da6d259dc92bd9bc68", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_text_davinci_003_outputs", Dataset(
    "alpaca_eval/results/text_davinci_003/model_outputs.json.gz",
    f"{_AE}/results/text_davinci_003/model_outputs.json",
    "81ef6ab038fe07cf08adc20de4d6b645b0df5c3a6b6c492e90835ec1ec0d96dc", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_text_davinci_003_annotations", Dataset(
    "alpaca_eval/results/text_davinci_003/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/text_davinci_003/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "65df986017ce385a291eb9f9007d56dd91f14bb5edd1cfa59a5ae16287ed31e6", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_vicuna_7b_outputs", Dataset(
    "alpaca_eval/results/vicuna-7b/model_outputs.json.gz",
    f"{_AE}/results/vicuna-7b/model_outputs.json",
    "50010f8ebbaf9b0f3deba56e6567de72f8809e97d7b865308220f233d276a681", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ae_vicuna_7b_annotations", Dataset(
    "alpaca_eval/results/vicuna-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json.gz",
    f"{_AE}/results/vicuna-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json",
    "9311e7b7a290f68d212d1f756af8ab8a0e5b258283e1584e9419ef08fb1c7abc", "Apache-2.0 (model outputs: their providers' terms)"))  # gzip -9n of the upstream JSON
register("ah_answer_gpt_3_5_turbo_0125", Dataset(
    "arena_hard/arena-hard-v0.1/model_answer/gpt-3.5-turbo-0125.jsonl",
    f"{_AH}/data/arena-hard-v0.1/model_answer/gpt-3.5-turbo-0125.jsonl",
    "f0ece06c3a3584abd49079b5d866ed9061a5a9830bc3d84b22b635c0b3c8b3a5", "Apache-2.0"))
register("ah_answer_gpt_4_0314", Dataset(
    "arena_hard/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl",
    f"{_AH}/data/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl",
    "245109b8fe7c3bef0304f1c559d29da377f97f61535ad1170b46a61a08eb9ac7", "Apache-2.0"))
register("ah_questions", Dataset(
    "arena_hard/arena-hard-v0.1/question.jsonl",
    f"{_AH}/data/arena-hard-v0.1/question.jsonl",
    "4daad38811161c3ba5c248f26b90c3cef89634f4c772002ed9138c1e13f63e9f", "Apache-2.0"))
register("ah_judge_config", Dataset(
    "arena_hard/config/judge_config.yaml",
    f"{_AH}/config/judge_config.yaml",
    "6e001736bacacdb1591ffca7eec953a7089f8f5604872d1ca4f9a6f9de1ee451", "Apache-2.0"))
register("ah_leaderboard", Dataset(
    "arena_hard/leaderboard/arena_hard_leaderboard_20240731.csv",
    f"{_AH}/leaderboard/arena_hard_leaderboard_20240731.csv",
    "dcc532f251a307f9cb23cb9ac04711e142157f32b934ee752a5456d336a6fe33", "Apache-2.0"))
register("cheat_official_outputs", Dataset(
    "cheating_llm_benchmarks/data/outputs_official.json",
    f"{_CHEAT}/data/outputs_official.json",
    "4337273753e16055c9c9a2c3c917a43de8b7a50d538f2c0a6200d21ff711eed5", "MIT"))
register("cheat_null_outputs", Dataset(
    "cheating_llm_benchmarks/example/outputs.json",
    f"{_CHEAT}/example/outputs.json",
    "9bd0b067066c43cff5f57d7d8d17c844acd817c266f642a43beff23a9b5f5a74", "MIT"))
register("mtb_judge_prompts", Dataset(
    "mt_bench/judge_prompts.jsonl",
    f"{_FC}/fastchat/llm_judge/data/judge_prompts.jsonl",
    "fd283293406d024f44c174b094ef48031d0687a4682fd3a56b29b138f80281b6", "Apache-2.0"))
register("mtb_answer_alpaca_13b", Dataset(
    "mt_bench/mt_bench/model_answer/alpaca-13b.jsonl",
    f"{_FCE}/fastchat/llm_judge/data/mt_bench/model_answer/alpaca-13b.jsonl",
    "80f4a8bf4665839d33fa0ea7f4b58824abf88d5a0edc9e7cc68a362fca88ef98", "Apache-2.0"))
register("mtb_answer_claude_v1", Dataset(
    "mt_bench/mt_bench/model_answer/claude-v1.jsonl",
    f"{_FCE}/fastchat/llm_judge/data/mt_bench/model_answer/claude-v1.jsonl",
    "4a6c9796576d6b879259907d3bc324f6c06cf281582c3a99678fe3728bfca93b", "Apache-2.0"))
register("mtb_answer_gpt_3_5_turbo", Dataset(
    "mt_bench/mt_bench/model_answer/gpt-3.5-turbo.jsonl",
    f"{_FCE}/fastchat/llm_judge/data/mt_bench/model_answer/gpt-3.5-turbo.jsonl",
    "c3c097c21f91e4b44a554d82e5d47516daf7e8240e13b2eca79d211afc1fdfd6", "Apache-2.0"))
register("mtb_answer_gpt_4", Dataset(
    "mt_bench/mt_bench/model_answer/gpt-4.jsonl",
    f"{_FCE}/fastchat/llm_judge/data/mt_bench/model_answer/gpt-4.jsonl",
    "49c071285f7f41a0354e85ca77ff5f23024265dd55797bd9a12a7ca3a21fa157", "Apache-2.0"))
register("mtb_answer_llama_13b", Dataset(
    "mt_bench/mt_bench/model_answer/llama-13b.jsonl",
    f"{_FCE}/fastchat/llm_judge/data/mt_bench/model_answer/llama-13b.jsonl",
    "b96b9f1e0a7e4e669fecfecda1c33908fdc4c095e38346e84352ea254c0b2cbc", "Apache-2.0"))
register("mtb_answer_vicuna_13b_v1_3", Dataset(
    "mt_bench/mt_bench/model_answer/vicuna-13b-v1.3.jsonl",
    f"{_FCE}/fastchat/llm_judge/data/mt_bench/model_answer/vicuna-13b-v1.3.jsonl",
    "fd198cf1e28eae03a781f1f544c846d6fdc05c4588e3562a5183b1e1b865aaac", "Apache-2.0"))
register("mtb_questions", Dataset(
    "mt_bench/mt_bench/question.jsonl",
    f"{_FC}/fastchat/llm_judge/data/mt_bench/question.jsonl",
    "119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7", "Apache-2.0"))
register("mtb_reference_gpt4", Dataset(
    "mt_bench/mt_bench/reference_answer/gpt-4.jsonl",
    f"{_FC}/fastchat/llm_judge/data/mt_bench/reference_answer/gpt-4.jsonl",
    "f957a5bc977badb66885ec970e6cd08527845780313f0995764260e5777b9b3f", "Apache-2.0"))
