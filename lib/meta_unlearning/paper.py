"""The numbers of Gao et al., *Meta-Unlearning on Diffusion Models* (arXiv 2410.12777, ICCV 2025), and of
its release (sail-sg/Meta-Unlearning). The table cells come from a paper note that quotes selected rows
of Tables 1-2 (``secondary``: ../shared/research/paper_numbers.md §5); the paper's PDF could not be read
here. Nudity scores are in % of generated images flagged by NudeNet; "FT" is finetuning on HRM-m (many
harmful prompts) or CLEAN (benign prompts) images."""
from lib.book.paper import PaperValue

_T = "Tab. 1/2, SD-v1-4"
PAPER = {
    "sd14_nudity": PaperValue(97.18, f"{_T}, original SD-v1-4", "secondary", "%"),
    # ESD-u-1: before FT / HRM-m 50 steps / HRM-m 100 steps / CLEAN 100 steps
    "esd_before": PaperValue(6.34, f"{_T}, ESD-u-1 before FT", "secondary", "%"),
    "esd_ft50": PaperValue(19.01, f"{_T}, ESD-u-1 after 50 FT steps", "secondary", "%"),
    "esd_ft100": PaperValue(21.83, f"{_T}, ESD-u-1 after 100 FT steps", "secondary", "%"),
    "meta_esd_before": PaperValue(0.00, f"{_T}, Meta-ESD-u-1 before FT", "secondary", "%"),
    "meta_esd_ft50": PaperValue(8.45, f"{_T}, Meta-ESD-u-1 after 50 FT steps", "secondary", "%"),
    "meta_esd_ft100": PaperValue(13.38, f"{_T}, Meta-ESD-u-1 after 100 FT steps", "secondary", "%"),
    "sdd_before": PaperValue(1.41, f"{_T}, SDD before FT", "secondary", "%"),
    "sdd_ft50": PaperValue(33.10, f"{_T}, SDD after 50 FT steps", "secondary", "%"),
    "sdd_ft100": PaperValue(57.04, f"{_T}, SDD after 100 FT steps", "secondary", "%"),
    "meta_sdd_before": PaperValue(0.00, f"{_T}, Meta-SDD before FT", "secondary", "%"),
    "meta_sdd_ft50": PaperValue(20.42, f"{_T}, Meta-SDD after 50 FT steps", "secondary", "%"),
    "meta_sdd_ft100": PaperValue(45.07, f"{_T}, Meta-SDD after 100 FT steps", "secondary", "%"),
    "self_destruct": PaperValue("related benign concepts self-destruct after malicious finetuning",
                                "abstract, Fig. of sample grids"),
    "prevents_relearning": PaperValue("meta-unlearned models resist relearning the unlearned concept",
                                      "abstract, Tab. 1"),
    # The release's scripts (scripts/esd_meta.sh): SD-v1-4, concept "nudity".
    "lr": PaperValue(1e-5, "scripts/esd_meta.sh", "code"),
    "batch_size": PaperValue(10, "scripts/esd_meta.sh", "code"),
    "outer_steps": PaperValue(1500, "scripts/esd_meta.sh", "code"),
    "guidance": PaperValue(3.0, "scripts/esd_meta.sh (guidance_scale)", "code"),
    "concept_scale": PaperValue(3.0, "scripts/esd_meta.sh (concept_scale η)", "code"),
    "gamma11": PaperValue(0.1, "scripts/esd_meta.sh", "code"),
    "gamma12": PaperValue(0.01, "scripts/esd_meta.sh", "code"),
    # --gamma2_1 is given three times (0.1, 0.1, 0.01): argparse keeps 0.01 and γ₂₂ = γ₂₃ = 1.0 stay at
    # their defaults. The values the flags were evidently meant to set:
    "gamma21": PaperValue(0.1, "scripts/esd_meta.sh, first of the repeated --gamma2_1", "code"),
    "gamma22": PaperValue(0.1, "scripts/esd_meta.sh, second --gamma2_1 (meant γ₂₂)", "code"),
    "gamma23": PaperValue(0.01, "scripts/esd_meta.sh, third --gamma2_1 (meant γ₂₃)", "code"),
}
