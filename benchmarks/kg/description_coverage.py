"""How many CommonsenseQA dev question concepts and answer choices gain a description when
ConceptNet-100K is merged with WordNet 3.0 (``KnowledgeGraph.merge``, align="label").

ConceptNet-100K has no descriptions; after the merge, a ConceptNet concept has the gloss of
the WordNet synset joined to it (the most frequent sense of a label it shares, see
:mod:`kglm.kg.merge`). Counted two ways:

* **exact string match**: the concept text (``question.question_concept``, each choice's text),
  normalised as labels are (:func:`kglm.kg.merge.normalise_label`), equals the normalised label
  of a ConceptNet node that has a description after the merge. For reference: of an entity of
  the merged graph (WordNet synsets that did not join included).
* **linker / grounding**: the entities that kglm's default linker (``make_linker``: the
  :class:`~kglm.linking.LexiconLinker`, ``grounding_mode="longest"``) links, as the training
  pipeline grounds them (:func:`kglm.grounding.ground_examples`): for each choice its answer
  entities (whole-choice fallback included), for each question the entities linked in the
  ``question_concept`` text (its whole-text lookup when no mention is found) and in the stem.
  An item gains a description when at least one of its entities has one. Done with the
  ConceptNet-100K linker (the entities training links today; ConceptNet ids are unchanged by
  the merge) and, with ``--merged-linker``, with a linker built on the merged graph.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/kg/description_coverage.py --merged-linker

Writes ``description_coverage.{json,md}`` into ``runs/benchmarks/description-coverage-<time>/``
(``--update-committed``: the committed ``benchmarks/kg/description_coverage.*``). Data from
``$KGLM_DATA_DIR``, else ``../shared/data``. Linker indexes are built once and kept in the KG
cache directories (``kglm.utils.paths.cache_dir()/kg``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from _output import add_output_args, data_dir, load_note, output_dir, write_report  # noqa: E402

DATA = data_dir()
CN100K = DATA / "conceptnet" / "cn100k" / "train.txt"
WORDNET = DATA / "wordnet"
DEV = DATA / "csqa" / "dev_rand_split.jsonl"
HERE = Path(__file__).resolve().parent


def _pct(n: int, d: int) -> str:
    return f"{n:,} / {d:,} ({100.0 * n / d:.1f}%)" if d else "0 / 0"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--merged-linker", action="store_true", help="also link with a linker built on the merged graph")
    ap.add_argument("--senses", choices=["first", "all"], default="first", help="merge senses policy")
    add_output_args(ap)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    for p in (CN100K, WORDNET / "data.noun.bz2", DEV):
        if not p.exists():
            print(f"skipped: {p} absent")
            return 0
    import torch

    torch.set_num_threads(1)
    from kglm.grounding import ground_examples
    from kglm.kg import KnowledgeGraph
    from kglm.kg.merge import merge, normalise_label
    from kglm.kg.wordnet import from_wordnet
    from kglm.training.resources import kg_directory, load_examples, make_linker
    from kglm.utils.machine import machine_info
    from kglm.utils.paths import cache_dir

    machine = machine_info()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    cn_dir = kg_directory(str(CN100K))  # what training's kg=.../train.txt uses (cached conversion)
    cn = KnowledgeGraph.load(cn_dir)
    wn = from_wordnet(WORDNET)
    merged = merge([cn, wn], names=["cn", "wn"], senses=args.senses)
    timings["build_and_merge_s"] = round(time.perf_counter() - t, 1)
    E = cn.num_entities
    assert cn.num_descriptions == 0 and merged.entities[:E] == cn.entities  # ConceptNet ids kept
    dptr = merged._description_ptr
    has_desc = (dptr[1:] > dptr[:-1]).tolist()

    examples = load_examples(str(DEV), "csqa")
    concepts = [str(ex.metadata.get("question_concept", "")) for ex in examples]
    choices = [c for ex in examples for c in ex.choices]

    # ---- exact string match
    cn_keys: dict[str, bool] = {}
    for i, name in enumerate(cn.entities):
        for label in cn.labels_of(i):
            k = normalise_label(label)
            cn_keys[k] = cn_keys.get(k, False) or has_desc[i]
    merged_keys: dict[str, bool] = {}
    owner, text = merged.label_index()
    for i, label in zip(owner.tolist(), text):
        k = normalise_label(label)
        merged_keys[k] = merged_keys.get(k, False) or has_desc[i]

    def exact(items: list[str]) -> dict[str, Any]:
        keys = [normalise_label(x) for x in items]
        distinct = set(keys)
        return {
            "items": len(items),
            "in_conceptnet": sum(k in cn_keys for k in keys),
            "conceptnet_node_gains_description": sum(cn_keys.get(k, False) for k in keys),
            "merged_entity_with_description": sum(merged_keys.get(k, False) for k in keys),
            "distinct": len(distinct),
            "distinct_conceptnet_node_gains_description": sum(cn_keys.get(k, False) for k in distinct),
        }

    results: dict[str, Any] = {
        "exact_match": {"question_concept": exact(concepts), "choice": exact(choices)},
    }

    # ---- linker / grounding
    def linked(kg: KnowledgeGraph, kg_dir: Path, label: str, desc: list[bool]) -> dict[str, Any]:
        t0 = time.perf_counter()
        linker = make_linker(kg, kg_dir)
        timings[f"{label}_linker_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        grounded = ground_examples(linker, examples)
        concept_ids = []
        for qc in concepts:
            ids = [m.entity_id for m in linker(qc)] or list(linker.lookup(qc))
            concept_ids.append(ids)
        timings[f"{label}_grounding_s"] = round(time.perf_counter() - t0, 1)
        choice_ids = [g.answer_entities for gs in grounded for g in gs]
        stem_ids = [sorted({m.entity_id for m in gs[0].question_mentions}) if gs else [] for gs in grounded]
        return {
            "choice": {"items": len(choice_ids), "linked": sum(bool(x) for x in choice_ids),
                       "gains_description": sum(any(desc[i] for i in x) for x in choice_ids)},
            "question_concept": {"items": len(concept_ids), "linked": sum(bool(x) for x in concept_ids),
                                 "gains_description": sum(any(desc[i] for i in x) for x in concept_ids)},
            "question_stem": {"items": len(stem_ids), "linked": sum(bool(x) for x in stem_ids),
                              "gains_description": sum(any(desc[i] for i in x) for x in stem_ids),
                              "linked_entities": sum(len(x) for x in stem_ids),
                              "linked_entities_with_description": sum(desc[i] for x in stem_ids for i in x)},
        }

    # the ConceptNet linker links ConceptNet ids, which the merge keeps
    results["linker_conceptnet"] = linked(cn, cn_dir, "conceptnet", has_desc[:E])
    if args.merged_linker:
        merged_dir = cache_dir() / "kg" / f"cn100k+wordnet-{args.senses}-{merged.fingerprint[:16]}"
        if not (merged_dir / "kg.json").exists():
            merged.save(merged_dir)
        results["linker_merged"] = linked(KnowledgeGraph.load(merged_dir), merged_dir, "merged", has_desc)
        results["merged_kg_directory"] = str(merged_dir)

    info = {
        "command": "OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/kg/description_coverage.py"
                   + (" --merged-linker" if args.merged_linker else "")
                   + ("" if args.senses == "first" else f" --senses {args.senses}"),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {"conceptnet": str(CN100K), "wordnet": str(WORDNET), "csqa_dev": str(DEV)},
        "merge": {"senses": args.senses, "entities": merged.num_entities, "relations": merged.num_relations,
                  "triples": merged.num_triples, "descriptions": merged.num_descriptions,
                  "joined_wordnet_synsets": merged.metadata["merge"]["joined"][1],
                  "conceptnet_nodes_with_description": sum(has_desc[:E]), "conceptnet_nodes": E},
        "timings": timings,
        "machine": machine,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **results,
    }
    info["load_note"] = load_note(load_before, info["load_average_after"][0], os.cpu_count() or 1)
    out_dir = output_dir(args, "description-coverage", HERE)

    ex_q, ex_c = results["exact_match"]["question_concept"], results["exact_match"]["choice"]
    lines = [
        "# CommonsenseQA dev: description coverage of ConceptNet-100K + WordNet",
        "",
        f"Command: `{info['command']}` ({info['date_utc']}, commit {machine.get('git_commit')}).",
        f"Merge (`KnowledgeGraph.merge([cn100k, wordnet], align=\"label\", senses=\"{args.senses}\")`): "
        f"{info['merge']['joined_wordnet_synsets']:,} WordNet synsets joined ConceptNet nodes; "
        f"{_pct(info['merge']['conceptnet_nodes_with_description'], E)} ConceptNet nodes now have a description.",
        "",
        "| CSQA dev item | in ConceptNet (exact) | gains a description: exact match | via the ConceptNet-100K linker |"
        + (" via a linker on the merged graph |" if args.merged_linker else ""),
        "|---|---|---|---|" + ("---|" if args.merged_linker else ""),
    ]
    lc = results["linker_conceptnet"]
    lm = results.get("linker_merged")
    lines.append(
        f"| question concept (`question_concept`) | {_pct(ex_q['in_conceptnet'], ex_q['items'])} | "
        f"{_pct(ex_q['conceptnet_node_gains_description'], ex_q['items'])} | "
        f"{_pct(lc['question_concept']['gains_description'], lc['question_concept']['items'])} |"
        + (f" {_pct(lm['question_concept']['gains_description'], lm['question_concept']['items'])} |" if lm else "")
    )
    lines.append(
        f"| answer choice | {_pct(ex_c['in_conceptnet'], ex_c['items'])} | "
        f"{_pct(ex_c['conceptnet_node_gains_description'], ex_c['items'])} | "
        f"{_pct(lc['choice']['gains_description'], lc['choice']['items'])} |"
        + (f" {_pct(lm['choice']['gains_description'], lm['choice']['items'])} |" if lm else "")
    )
    lines.append(
        f"| question stem (any linked entity) | | | {_pct(lc['question_stem']['gains_description'], lc['question_stem']['items'])} |"
        + (f" {_pct(lm['question_stem']['gains_description'], lm['question_stem']['items'])} |" if lm else "")
    )
    lines += [
        "",
        f"Distinct strings, exact match: question concepts {_pct(ex_q['distinct_conceptnet_node_gains_description'], ex_q['distinct'])}, "
        f"choices {_pct(ex_c['distinct_conceptnet_node_gains_description'], ex_c['distinct'])}. "
        f"Exact match to any merged-graph entity with a description (unjoined WordNet senses included): "
        f"question concepts {_pct(ex_q['merged_entity_with_description'], ex_q['items'])}, "
        f"choices {_pct(ex_c['merged_entity_with_description'], ex_c['items'])}.",
        "",
        f"Timings (s): {timings}; {info['load_note']}.",
        "",
    ]
    write_report(out_dir, "description_coverage", info, "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
