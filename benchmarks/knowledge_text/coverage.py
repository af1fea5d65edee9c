"""Knowledge-text coverage on CommonsenseQA dev: how often a choice gets knowledge, and how much.

For each knowledge graph (ConceptNet-100K; ConceptNet-100K merged with WordNet
by label, when ``--wordnet`` is given) the 1,221 dev questions are grounded
with the default linker and every choice gets its knowledge text
(:func:`kglm.knowledge_text.core.dataset_knowledge_texts`, default
:class:`~kglm.knowledge_text.KnowledgeTextConfig`, budget capped by
``--max-seq-length`` as in training). Reported per KG:

* % of choices whose knowledge text is non-empty, with >= 1 fact, with >= 1
  description (and of the answer entity / of the question concept);
* mean tokens (MiniLM tokenizer) of the knowledge text over all choices and
  over non-empty ones; mean facts per choice;
* the same for the gold choices only;
* the knowledge texts of the gold choice of the first 5 dev questions;
* seconds to build the texts (grounding excluded), with the load average
  (``--scorer similarity`` measures what the similarity scorer costs: it encodes
  every candidate fact and description with the packaged MiniLM).

Usage (from the repository root; ~1 min for ConceptNet-100K, a few more the
first time the merged graph and its linker index are built)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/knowledge_text/coverage.py \\
        [--data-dir DIR] [--wordnet] [--scorer default|similarity] [--limit N] [--out DIR | --update-committed]

Data from ``--data-dir``, else ``$KGLM_DATA_DIR``, else ``../shared/data``. Writes
``coverage.json`` and ``coverage.md`` into ``--out``, else a new
``runs/benchmarks/knowledge-text-coverage-<time>/``; ``--update-committed`` writes the
committed ones in ``benchmarks/knowledge_text/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _output import add_output_args, data_dir, output_dir, write_report  # noqa: E402


def _stats(texts: list[list[Any]], only: list[int] | None = None) -> dict[str, float]:
    rows = [(i, j, t) for i, row in enumerate(texts) for j, t in enumerate(row) if only is None or only[i] == j]
    n = len(rows)
    nonempty = [t for _, _, t in rows if t.text]

    def pct(k: int) -> float:
        return round(100.0 * k / n, 1) if n else 0.0

    return {
        "choices": n,
        "nonempty_pct": pct(len(nonempty)),
        "with_fact_pct": pct(sum(bool(t.facts) for _, _, t in rows)),
        "with_description_pct": pct(sum(bool(t.descriptions) for _, _, t in rows)),
        "with_answer_description_pct": pct(sum(any(d.role == "answer" for d in t.descriptions) for _, _, t in rows)),
        "with_question_description_pct": pct(
            sum(any(d.role == "question" for d in t.descriptions) for _, _, t in rows)
        ),
        "mean_tokens": round(sum(t.num_tokens for _, _, t in rows) / n, 1) if n else 0.0,
        "mean_tokens_nonempty": round(sum(t.num_tokens for t in nonempty) / len(nonempty), 1) if nonempty else 0.0,
        "mean_facts": round(sum(len(t.facts) for _, _, t in rows) / n, 2) if n else 0.0,
        "truncated_pct": pct(sum(t.truncated for _, _, t in rows)),
    }


def run_kg(name: str, source: str, examples: list[Any], tokenizer: Any, args: argparse.Namespace) -> dict[str, Any]:
    from kglm.grounding.ground import ground_examples
    from kglm.kg.graph import KnowledgeGraph
    from kglm.knowledge_text.core import KnowledgeTextConfig, dataset_knowledge_texts
    from kglm.training import resources

    t0 = time.perf_counter()
    kg_dir = resources.kg_directory(source, "auto", args.cache_dir)
    kg = KnowledgeGraph.load(kg_dir)
    linker = resources.make_linker(kg, kg_dir)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    grounded = ground_examples(linker, examples, show_progress=not args.quiet)
    ground_s = time.perf_counter() - t0
    config = KnowledgeTextConfig(scorer=args.scorer)
    t0 = time.perf_counter()
    texts = dataset_knowledge_texts(examples, grounded, kg, tokenizer, config, args.max_seq_length)
    build_s = time.perf_counter() - t0
    gold = [ex.label for ex in examples]
    samples = []
    for i in range(5):
        ex = examples[i]
        samples.append({
            "question": ex.question,
            "question_concept": ex.metadata.get("question_concept"),
            "choice": ex.choices[ex.label],
            "knowledge": texts[i][ex.label].text,
            "tokens": texts[i][ex.label].num_tokens,
        })
    return {
        "kg": name,
        "source": source,
        "kg_entities": kg.num_entities,
        "kg_triples": kg.num_triples,
        "kg_descriptions": kg.num_descriptions,
        "all_choices": _stats(texts),
        "gold_choices": _stats(texts, gold),
        "examples": samples,
        "seconds": {"kg_and_linker_load": round(load_s, 1), "grounding": round(ground_s, 1),
                    "knowledge_texts": round(build_s, 1)},
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Knowledge-text coverage, CommonsenseQA in-house dev",
        "",
        f"Command: `{result['command']}`  ",
        f"Commit {result['machine'].get('git_commit')}, load average {result['machine'].get('load_average')}, "
        f"{result['dev_questions']} questions, knowledge settings {json.dumps(result['settings'])}.",
        "",
        "| KG | choices | non-empty % | with fact % | with description % (answer / question) "
        "| mean tokens (non-empty) | mean facts | gold: non-empty % | gold: with description % | build s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["results"]:
        a, g = r["all_choices"], r["gold_choices"]
        lines.append(
            f"| {r['kg']} | {a['choices']} | {a['nonempty_pct']} | {a['with_fact_pct']} | "
            f"{a['with_description_pct']} ({a['with_answer_description_pct']} / {a['with_question_description_pct']}) | "
            f"{a['mean_tokens']} ({a['mean_tokens_nonempty']}) | {a['mean_facts']} | {g['nonempty_pct']} | "
            f"{g['with_description_pct']} | {r['seconds']['knowledge_texts']} |"
        )
    for r in result["results"]:
        lines += ["", f"## Examples ({r['kg']}, gold choice of the first 5 dev questions)", ""]
        for s in r["examples"]:
            lines.append(f"* **{s['question']}** ({s['question_concept']}) -> *{s['choice']}*: "
                         f"{s['knowledge'] or '(empty)'} [{s['tokens']} tokens]")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="benchmark data (default: $KGLM_DATA_DIR, else ../shared/data)")
    parser.add_argument("--wordnet", action="store_true", help="also ConceptNet-100K + WordNet (merged by label)")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--scorer", default="default", choices=["default", "similarity"],
                        help="knowledge scorer (results of 'similarity' go to coverage_similarity.*)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N dev questions")
    parser.add_argument("--cache-dir", default=None)
    add_output_args(parser)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    data = Path(args.data_dir) if args.data_dir else data_dir()
    if not (data / "csqa" / "dev_rand_split.jsonl").is_file():
        print(f"skipped: {data}/csqa/dev_rand_split.jsonl not found (the shared benchmark data)")
        return 0
    import torch
    from transformers import AutoTokenizer

    from kglm.knowledge_text.core import KnowledgeTextConfig
    from kglm.training import resources
    from kglm.utils.machine import machine_info

    torch.set_num_threads(1)
    examples = resources.load_examples(str(data / "csqa" / "dev_rand_split.jsonl"), "csqa", "dev")[: args.limit]
    tokenizer = AutoTokenizer.from_pretrained(resources.resolve_backbone("minilm", args.cache_dir), trust_remote_code=False)
    cn100k = str(data / "conceptnet" / "cn100k" / "train.txt")
    kgs = [("ConceptNet-100K", cn100k)]
    if args.wordnet:
        kgs.append(("ConceptNet-100K + WordNet", f"{cn100k} + {data / 'wordnet'}"))
    results = [run_kg(name, source, examples, tokenizer, args) for name, source in kgs]
    settings = KnowledgeTextConfig(scorer=args.scorer).cache_key()
    settings["max_seq_length"] = args.max_seq_length
    result = {
        "command": " ".join(["benchmarks/knowledge_text/coverage.py"] + (argv if argv is not None else sys.argv[1:])),
        "dev_questions": len(examples),
        "settings": settings,
        "results": results,
        "machine": machine_info(),
    }
    out = output_dir(args, "knowledge-text-coverage", Path(__file__).resolve().parent)
    stem = "coverage" if args.scorer == "default" else f"coverage_{args.scorer}"
    write_report(out, stem, result, _markdown(result), ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
