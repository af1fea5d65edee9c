"""How grounding cost grows with the KG: synthetic KGs of 100k, 1M (and 5M) entities.

Each KG holds every ConceptNet-100K node and triple (so CommonsenseQA questions
ground as on the real graph), plus synthetic entities up to the size: WordNet
lemmas first, then two-part phrases recombined from WordNet words and
ConceptNet/WordNet phrases ("garden kettle", "red bus station"), drawn with a
fixed seed; each synthetic entity gets 3 random triples to random entities.
For each size, in a fresh process (so peak memory is per size):

* KG construction and save; the linker index build (``LexiconLinker``, ``rule``
  lemmatizer: tokenizer only, so the build measures the index itself; spaCy's
  tagger adds a per-label cost that does not depend on the KG size), index size
  on disk and key count;
* warm start: KG load + index load from disk;
* grounding the first ``--questions`` CommonsenseQA dev questions (5 statements
  each): statements/s;
* 2-hop QA graphs (``extract_qa_subgraphs``, 200-node cap) and KagNet paths
  (``find_paths_batch``, 3 hops, 64 paths per pair) of those statements;
* peak resident memory.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/grounding/bench_scaling.py \\
        --sizes 100000,1000000 [--update-committed]
    # one more point, keeping the committed rows of the other sizes:
    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/grounding/bench_scaling.py \\
        --sizes 5000000 --merge-committed --max-rss-gb 14 --update-committed

Writes ``scaling.json``, ``scaling.md`` and ``scaling.png``. Each size runs in a
child process; ``--merge-committed`` keeps the committed rows of sizes not run
(each row carries its own date and commit), so points can be added one at a
time. The child is watched: past ``--max-rss-gb`` of resident memory it is
stopped (and made the first candidate of the kernel's OOM killer), so that a
size too large for the machine cannot push other jobs out; such a size is
recorded as a row saying why, instead of figures.
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402


def vocabulary(data: Path) -> tuple[list[tuple[str, str, str]], list[str], list[str]]:
    """CN-100K triples (relation, head, tail), CN node phrases, WordNet lemmas (as phrases)."""
    triples = []
    with open(data / "conceptnet" / "cn100k" / "train.txt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                triples.append((parts[0], parts[1], parts[2]))
    nodes = list(dict.fromkeys(x for _, h, t in triples for x in (h, t)))
    lemmas: list[str] = []
    for pos in ("noun", "verb", "adj", "adv"):
        with bz2.open(data / "wordnet" / f"index.{pos}.bz2", "rt", encoding="utf-8") as f:
            lemmas.extend(line.split(" ", 1)[0].replace("_", " ") for line in f if not line.startswith(" "))
    return triples, nodes, list(dict.fromkeys(lemmas))


def synthetic_kg(data: Path, size: int, seed: int = 0) -> Any:
    from kglm.kg.graph import KnowledgeGraph

    cn, nodes, lemmas = vocabulary(data)
    rng = random.Random(seed)
    names = list(nodes)
    seen = set(names)
    for lemma in lemmas:
        if len(names) >= size:
            break
        if lemma not in seen:
            seen.add(lemma)
            names.append(lemma)
    words = [w for w in lemmas if " " not in w and w.isalpha()]
    pool = names[:]
    while len(names) < size:
        phrase = f"{rng.choice(words)} {rng.choice(pool)}"
        if phrase not in seen:
            seen.add(phrase)
            names.append(phrase)
    names = names[:size]
    relations = sorted({r for r, _, _ in cn})
    rel_id = {r: i for i, r in enumerate(relations)}
    ent_id = {n: i for i, n in enumerate(names)}
    triples = [(ent_id[h], rel_id[r], ent_id[t]) for r, h, t in cn if h in ent_id and t in ent_id]
    start = len(nodes)
    for head in range(start, size):
        for _ in range(3):
            triples.append((head, rng.randrange(len(relations)), rng.randrange(size)))
    import torch

    return KnowledgeGraph(names, relations, torch.tensor(triples, dtype=torch.long))


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(data: Path, size: int, work: Path, questions: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from kglm.datasets.readers import read_csqa
    from kglm.grounding.graphs import extract_qa_subgraphs
    from kglm.grounding.ground import ground_examples
    from kglm.grounding.paths import find_paths_batch
    from kglm.kg.graph import KnowledgeGraph
    from kglm.linking import LexiconLinker

    r: dict[str, Any] = {"entities": size}
    t = time.perf_counter()
    kg = synthetic_kg(data, size)
    r["kg_build_s"] = time.perf_counter() - t
    r["triples"] = kg.num_triples
    kg_dir = work / f"kg{size}"
    shutil.rmtree(kg_dir, ignore_errors=True)
    t = time.perf_counter()
    kg.save(kg_dir)
    r["kg_save_s"] = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    linker = LexiconLinker.from_kg(kg, lemmatizer="rule", show_progress=False)
    r["index_build_s"], r["index_build_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    r["index_keys"] = linker.num_keys
    linker.save(kg_dir)
    r["index_mb"] = dir_bytes(kg_dir / "extras" / "linker") / 1e6
    r["kg_dir_mb"] = dir_bytes(kg_dir) / 1e6
    del kg, linker
    t, c = time.perf_counter(), time.process_time()
    kg = KnowledgeGraph.load(kg_dir)
    linker = LexiconLinker.load(kg_dir, kg=kg, lemmatizer="rule")
    r["warm_start_s"], r["warm_start_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    dev = read_csqa(data / "csqa" / "dev_rand_split.jsonl")[:questions]
    statements = sum(len(ex.choices) for ex in dev)
    t, c = time.perf_counter(), time.process_time()
    grounded = ground_examples(linker, dev, show_progress=False)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    r.update(statements=statements, statements_per_s=statements / dt, statements_per_cpu_s=statements / dc)
    pairs = [(g.question_entities, g.answer_entities) for ex in grounded for g in ex]
    t = time.perf_counter()
    extract_qa_subgraphs(kg, pairs[:1], max_nodes=200, hops=2)  # builds the adjacency index once
    r["adjacency_build_s"] = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    graphs = extract_qa_subgraphs(kg, pairs, max_nodes=200, hops=2)
    r["subgraph_s"], r["subgraph_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    r["subgraph_nodes_mean"] = sum(g.num_nodes for g in graphs) / len(graphs)
    t, c = time.perf_counter(), time.process_time()
    find_paths_batch(kg, pairs, max_hops=3, max_paths_per_pair=64)
    r["paths_s"], r["paths_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    r["peak_rss_mb"] = _common.peak_rss_mb()
    r["load_average"] = [round(x, 2) for x in os.getloadavg()]
    shutil.rmtree(kg_dir, ignore_errors=True)
    return r


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplots(2, 3)
    x = [r["entities"] for r in rows]
    panels = [
        ("index build (CPU s)", "index_build_cpu_s"), ("index on disk (MB)", "index_mb"),
        ("warm start: KG + index load (CPU s)", "warm_start_cpu_s"),
        ("grounding (statements per CPU s)", "statements_per_cpu_s"),
        ("2-hop QA graphs (CPU s)", "subgraph_cpu_s"), ("KagNet paths (CPU s)", "paths_cpu_s"),
    ]  # fmt: skip
    for ax, (title, key) in zip(axes.flat, panels):
        y = [r[key] for r in rows]
        ax.plot(x, y, marker="o")
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)  # from zero: run-to-run noise must not look like a trend
        ax.set_title(title)
        ax.set_xlabel("entities")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"kglm grounding vs KG size ({rows[0]['statements']:,} CSQA dev statements, one process, one thread; "
                 "CPU time, the machine being shared)")
    fig.savefig(path, dpi=100)


def _rss_gb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / (1 << 20)
    except (OSError, ValueError):
        pass
    return 0.0


def _prefer_me_for_oom() -> None:
    try:  # raising one's own OOM score needs no privilege
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass


def _run_watched(cmd: list[str], max_rss_gb: float | None) -> str | None:
    """Run one size's child; ``None`` when it succeeded, else why it did not."""
    proc = subprocess.Popen(cmd, preexec_fn=_prefer_me_for_oom)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _rss_gb(proc.pid))
        if max_rss_gb is not None and peak > max_rss_gb:
            proc.kill()
            proc.wait()
            return f"stopped at {peak:.1f} GB resident memory (limit {max_rss_gb:g} GB on this shared machine)"
        time.sleep(0.5)
    if proc.returncode != 0:
        return f"the process failed (exit status {proc.returncode}, peak resident memory {peak:.1f} GB)"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_common_args(p)
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated entity counts")
    p.add_argument("--questions", type=int, default=300, help="CSQA dev questions grounded per size")
    p.add_argument("--merge-committed", action="store_true",
                   help="keep the committed rows (scaling.json) of the sizes not run now")
    p.add_argument("--max-rss-gb", type=float, default=None,
                   help="stop a size whose process passes this resident memory (default: no limit)")
    p.add_argument("--commit", default=None,
                   help="commit recorded with the new rows (default: the repository's HEAD)")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    data, out = (_common.data_dir(), None) if args.child else _common.resolve(args, "scaling")
    if args.data_dir:
        data = Path(args.data_dir)
    if not (data / "conceptnet" / "cn100k" / "train.txt").exists() or not (data / "wordnet").exists():
        print(f"skipped: ConceptNet-100K / WordNet not found under {data}")
        return 0
    from kglm.utils.paths import cache_dir

    work = cache_dir() / "bench_scaling"
    work.mkdir(parents=True, exist_ok=True)
    if args.child:
        Path(args.child_out).write_text(json.dumps(measure(data, args.child, work, args.questions)))
        return 0
    from kglm.utils.machine import git_commit

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        result = work / f"result{size}.json"
        result.unlink(missing_ok=True)
        cmd = [sys.executable, __file__, "--child", str(size), "--child-out", str(result),
               "--questions", str(args.questions), "--data-dir", str(data)]  # fmt: skip
        print(f"size {size:,} ...", flush=True)
        stamp = _common.header(argv)
        failure = _run_watched(cmd, args.max_rss_gb)
        if failure is None:
            row = json.loads(result.read_text())
        else:
            row = {"entities": size, "failed": failure, "load_average": [round(x, 2) for x in os.getloadavg()]}
        row.update(date=stamp["date"], git_commit=args.commit or git_commit(Path(__file__).parent))
        rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
    if args.merge_committed:
        committed = _common.HERE / "scaling.json"
        if committed.exists():
            old = json.loads(committed.read_text())
            done = {r["entities"] for r in rows}
            for r in old.get("rows", []):
                if r["entities"] not in done:
                    r.setdefault("date", old.get("date"))
                    r.setdefault("git_commit", old.get("machine", {}).get("git_commit"))
                    rows.append(r)
        rows.sort(key=lambda r: r["entities"])
    res = {**_common.header(argv), "benchmark": "grounding cost vs KG size (synthetic KGs)", "rows": rows}
    lines = [
        "# Grounding cost vs KG size (synthetic KGs: ConceptNet-100K + WordNet lemmas + recombined phrases)",
        "",
        f"Measured {res['date']}, one process and one thread per size, `rule` lemmatizer; load average at the end "
        f"of each size in the table (shared 2-core machine). Command: `{res['command']}`",
        "",
        "Each time is wall-clock, with this process's CPU seconds in brackets (the CPU figure is what an "
        "otherwise idle core gives; the wall figure suffers from the other jobs).",
        "",
        "| entities | triples | index build s | index keys | index MB | warm start s (KG + index load) "
        "| statements/s (per CPU s) | 2-hop graphs s | paths s | peak RSS MB | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['entities']:,} | not measured: {r['failed']} | | | | | | | | | {r['load_average'][0]} |")
            continue
        lines.append(
            f"| {r['entities']:,} | {r['triples']:,} | {r['index_build_s']:.1f} ({r['index_build_cpu_s']:.1f}) "
            f"| {r['index_keys']:,} | {r['index_mb']:.0f} | {r['warm_start_s']:.1f} ({r['warm_start_cpu_s']:.1f}) "
            f"| {r['statements_per_s']:,.0f} ({r['statements_per_cpu_s']:,.0f}) | {r['subgraph_s']:.2f} "
            f"({r['subgraph_cpu_s']:.2f}) | {r['paths_s']:.1f} ({r['paths_cpu_s']:.1f}) | {r['peak_rss_mb']:,.0f} "
            f"| {r['load_average'][0]} |"
        )
    measured = [r for r in rows if "failed" not in r]
    lines += ["", "Each row's date and commit: " + "; ".join(
        f"{r['entities']:,}: {r.get('date', '?')}, {str(r.get('git_commit') or '?')[:10]}" for r in rows) + "."]
    if measured:
        lines += ["", f"Statements per size: {measured[0]['statements']:,} (the first {args.questions} dev questions).", ""]
        chart(measured, out / "scaling.png")
    _common.write(out, "scaling", res, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
