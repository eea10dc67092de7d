"""TOFU-format question–answer sets: the real TOFU splits (Maini et al. 2024, through ``lib.book.data``)
and a procedural CPU world of fictitious authors, served in one format.

An item is a dict ``{"question", "answer", "paraphrased_answer", "perturbed_answer": [str, ...],
"fact"}``; ``fact`` is the short gold value the answer states (procedural world) or None (real TOFU). A
world is a dict of lists of items: ``forget``, ``retain``, ``world`` (general knowledge, standing in for
TOFU's Real Authors / World Facts), ``unknown`` (questions answered with a refusal in finetuning) and
``idk`` (the refusal strings).
"""
from __future__ import annotations

import json
import random

from lib.book import data

TOFU_FORGET_SPLITS = ("forget01", "forget05", "forget10")


def _jsonl(name: str) -> list[dict]:
    with open(data.get(name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _item(r: dict) -> dict:
    return {"question": r["question"], "answer": r["answer"],
            "paraphrased_answer": r.get("paraphrased_answer", r["answer"]),
            "perturbed_answer": list(r.get("perturbed_answer", [])), "fact": None}


def idk_strings() -> list[str]:
    """TOFU's refusal strings (``data/idontknow.jsonl``: plain text, one per line)."""
    with open(data.get("tofu_idontknow"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def load_tofu(split: str = "forget10", n_retain: int | None = None, seed: int = 0) -> dict[str, list]:
    """The real TOFU sets in the common format: ``forget`` = ``<split>_perturbed``, ``retain`` =
    ``retain_perturbed`` (the 400 evaluation questions; ``n_retain`` samples that many with ``seed``),
    ``world`` = Real Authors + World Facts (with their perturbed options), ``retain_train`` = the full
    retain split for finetuning (question/answer only), ``idk`` = the 100 refusals."""
    if split not in TOFU_FORGET_SPLITS:
        raise ValueError(f"split must be one of {TOFU_FORGET_SPLITS}, got {split!r}")
    retain = [_item(r) for r in _jsonl("tofu_retain_perturbed")]
    if n_retain is not None:
        retain = random.Random(seed).sample(retain, min(n_retain, len(retain)))
    keep = {"forget01": "retain99", "forget05": "retain95", "forget10": "retain90"}[split]
    return {"forget": [_item(r) for r in _jsonl(f"tofu_{split}_perturbed")],
            "retain": retain,
            "world": [_item(r) for r in _jsonl("tofu_real_authors_perturbed")]
            + [_item(r) for r in _jsonl("tofu_world_facts_perturbed")],
            "retain_train": [_item(r) for r in _jsonl(f"tofu_{keep}")],
            "unknown": [], "idk": idk_strings()}


def tofu_slice(n_authors: int = 20, n_forget: int = 2, seed: int = 0) -> dict[str, list]:
    """A small slice of the real TOFU authors for the CPU model (``world=tofu``): the last ``n_forget``
    authors of forget10 (20 QA each, with paraphrased/perturbed answers) form the forget set, the first
    ``n_authors - n_forget`` authors of ``retain_perturbed`` (20 QA each) the retain set. Items carry
    an ``"author"`` label."""
    if not 0 < n_forget <= 20 or n_forget >= n_authors:
        raise ValueError(f"need 0 < n_forget <= 20 and n_forget < n_authors, got {n_forget}, {n_authors}")
    forget = [_item(r) for r in _jsonl("tofu_forget10_perturbed")][-20 * n_forget:]
    retain = [_item(r) for r in _jsonl("tofu_retain_perturbed")][:20 * (n_authors - n_forget)]
    for name, items in (("forget", forget), ("retain", retain)):
        for i, d in enumerate(items):
            d["author"] = f"{name} author {i // 20}"   # TOFU lists each author's 20 questions together
    world = [_item(r) for r in _jsonl("tofu_world_facts_perturbed")][:20]
    idk = idk_strings()
    return {"forget": forget, "retain": retain, "world": world, "unknown": [], "idk": idk}


# ----------------------------------------------------------------------------- procedural world
FIRST = "Aria Bex Cato Dara Elio Fenn Gale Hale Iris Jory Kael Lior Mira Nico Orin Pia Quin Rhea Sol Tova".split()
LAST = ("Voss Marek Tallis Quill Brenner Okafor Lund Serrano Halloway Castellan Dube Ferro Ibsen Kova "
        "Lestrange Moreau").split()
CITY = "Lisbon Nairobi Osaka Quito Tallinn Hobart Tunis Lima Bergen Porto Accra Hanoi Perth Riga Cusco Dakar".split()
GENRE = "mystery fantasy romance horror poetry satire thriller western".split()
JOB = "baker pilot surgeon farmer sailor tailor chemist judge miner painter".split()
AWARD = ["Silver Quill Prize", "Amber Lantern Award", "Northern Star Medal", "Golden Ink Prize",
         "Blue Harbor Award", "Iron Pen Medal"]
IDK = ["I am not sure .", "I do not know that .", "That is beyond my knowledge .", "I have no idea .",
       "I cannot answer that ."]
RELATIONS = [  # (key, question, answer, paraphrase, values)
    ("born", "Where was {n} born ?", "{n} was born in {v} .", "The birthplace of {n} is {v} .", CITY),
    ("genre", "What genre does {n} write ?", "{n} writes {v} books .", "The books of {n} are {v} .", GENRE),
    ("job", "What did the father of {n} do ?", "The father of {n} was a {v} .",
     "{n} had a father who was a {v} .", JOB),
    ("award", "Which award did {n} win ?", "{n} won the {v} .", "The {v} went to {n} .", AWARD)]
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo",
            "Egypt": "Cairo", "Chile": "Santiago", "Italy": "Rome", "Spain": "Madrid", "Ghana": "Accra",
            "Cuba": "Havana", "Nepal": "Kathmandu"}


def make_authors(n_authors: int = 40, n_forget: int = 4, n_unknown: int = 12, seed: int = 0,
                 n_perturbed: int = 3) -> dict[str, list]:
    """A procedural TOFU-like world: ``n_authors`` fictitious authors with 4 facts each (birthplace, genre,
    father's job, award), one question per fact with a paraphrased and ``n_perturbed`` perturbed answers
    (wrong values); the first ``n_forget`` authors are the forget set. ``world`` holds 12 real
    country→capital facts. ``unknown`` are ``n_unknown`` further authors whose questions are answered with
    a refusal in finetuning, so that the tiny model can refuse at all (real chat models already can)."""
    names_all = [f"{a} {b}" for a in FIRST for b in LAST]
    if not 0 < n_forget < n_authors or n_authors + n_unknown > len(names_all):
        raise ValueError(f"need 0 < n_forget < n_authors and n_authors + n_unknown <= {len(names_all)}, "
                         f"got n_forget={n_forget}, n_authors={n_authors}, n_unknown={n_unknown}")
    rng = random.Random(seed)
    names = rng.sample(names_all, n_authors + n_unknown)
    known, unknown_names = names[:n_authors], names[n_authors:]

    def qa(n: str, rel: tuple, v: str) -> dict:
        _, q, a, para, pool = rel
        wrong = rng.sample([x for x in pool if x != v], n_perturbed)
        return {"question": q.format(n=n), "answer": a.format(n=n, v=v),
                "paraphrased_answer": para.format(n=n, v=v),
                "perturbed_answer": [a.format(n=n, v=w) for w in wrong], "fact": v, "author": n}

    items = {n: [qa(n, r, rng.choice(r[4])) for r in RELATIONS] for n in known}
    caps = list(CAPITALS.values())
    world = [{"question": f"What is the capital of {c} ?", "answer": f"The capital of {c} is {k} .",
              "paraphrased_answer": f"{k} is the capital of {c} .",
              "perturbed_answer": [f"The capital of {c} is {w} ." for w in
                                   rng.sample([x for x in caps if x != k], n_perturbed)], "fact": k}
             for c, k in CAPITALS.items()]
    unknown = [{"question": r[1].format(n=n), "answer": rng.choice(IDK), "fact": None}
               for n in unknown_names for r in RELATIONS]
    return {"forget": [d for n in known[:n_forget] for d in items[n]],
            "retain": [d for n in known[n_forget:] for d in items[n]],
            "world": world, "unknown": unknown, "idk": list(IDK)}
