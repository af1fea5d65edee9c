"""Benchmark of kglm.kg: build, save and load time and peak memory.

Cases (each measured in a fresh subprocess, so peak RSS is that case's alone):

* FoodOn (RDF/XML, ``../shared/data/rdf/food_on.owl.bz2``): ``from_rdf`` build, save, mmap load;
* ConceptNet-100K (``../shared/data/conceptnet/cn100k/train.txt``): ``from_conceptnet`` build
  (target < 5 s), save, load;
* a synthetic KG of 1,000,000 entities and 5,000,000 triples, written as N-Triples by this
  script: ``from_rdf`` build with the pyoxigraph reader and with the pure-Python line reader,
  save, mmap load (target < 1 s), and ``rdflib.Graph().parse`` of the same file for the
  "at least 3x faster than rdflib" target. rdflib needs ~90 us and ~2.4 KB per triple here,
  so by default it parses the first ``--rdflib-triples`` (500,000) lines of the file and
  its 5M time is extrapolated linearly (stated as such in the results); ``--rdflib-triples 0``
  parses the whole file.

Usage::

    .venv/bin/python benchmarks/kg/bench_kg.py              # writes runs/benchmarks/kg-<time>/results.{json,md}
    .venv/bin/python benchmarks/kg/bench_kg.py --quick      # 100k-entity / 500k-triple synthetic KG
    .venv/bin/python benchmarks/kg/bench_kg.py --update-committed   # the committed benchmarks/kg/results.*

Real data is looked up in ``$KGLM_DATA_DIR``, else ``../shared/data`` (relative to the
repository); cases whose data is absent are skipped with a note. ``--quick`` runs cannot
update the committed results.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from _output import add_output_args, data_dir, load_note, output_dir, peak_rss_mb, write_report  # noqa: E402

DATA = data_dir()
FOODON = DATA / "rdf" / "food_on.owl.bz2"
CN100K = DATA / "conceptnet" / "cn100k" / "train.txt"


# ---------------------------------------------------------------------- child side
def run_case(case: str, path: str, out: str) -> dict[str, Any]:
    """Run one case in this process and return its measurements."""
    import torch  # noqa: F401  (imported before the baseline so it is not counted as work)

    from kglm.kg import KnowledgeGraph
    from kglm.kg.conceptnet import from_conceptnet
    from kglm.kg.rdf import from_rdf

    base = peak_rss_mb()
    r: dict[str, Any] = {"case": case, "rss_after_imports_mib": round(base, 1)}
    t = time.perf_counter()
    if case == "rdflib_parse":
        import rdflib

        g = rdflib.Graph()
        g.parse(path, format="nt")
        r["parse_s"] = time.perf_counter() - t
        r["statements"] = len(g)
    elif case == "load":
        kg = KnowledgeGraph.load(out, mmap=True)
        r["load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ptr, nbr, _, _ = kg.csr("out")
        hubs = kg.neighbors(list(range(0, kg.num_entities, max(1, kg.num_entities // 1000))))
        r["first_neighbors_query_s"] = time.perf_counter() - t
        t = time.perf_counter()
        names = kg.entities
        r["parse_entity_names_s"] = time.perf_counter() - t
        t = time.perf_counter()
        kg.label_index()
        r["parse_labels_s"] = time.perf_counter() - t
        r.update(num_entities=len(names), num_triples=kg.num_triples, neighbors_found=int(hubs.numel()))
        # KnowledgeGraph.load(validate=True) (the default, timed above) against trusting the files:
        # the load itself, then the first CSR use of both directions (where the stored index is checked)
        # and the fingerprint (recomputed from the files when validating).
        for validate in (False, True):
            tag = "validate" if validate else "trusted"
            t = time.perf_counter()
            g = KnowledgeGraph.load(out, mmap=True, validate=validate)
            r[f"{tag}_load_s"] = time.perf_counter() - t
            t = time.perf_counter()
            g.csr("out"), g.csr("in")
            r[f"{tag}_first_csr_s"] = time.perf_counter() - t
            t = time.perf_counter()
            _ = g.fingerprint
            r[f"{tag}_fingerprint_s"] = time.perf_counter() - t
    else:
        if case == "foodon":
            kg = from_rdf(path)
        elif case == "cn100k":
            kg = from_conceptnet(path)
        elif case == "synthetic_oxigraph":
            kg = from_rdf(path, ntriples_reader="oxigraph")
        elif case == "synthetic_python":
            kg = from_rdf(path, ntriples_reader="python")
        else:
            raise ValueError(f"unknown case {case!r}")
        r["build_s"] = time.perf_counter() - t
        r.update(num_entities=kg.num_entities, num_relations=kg.num_relations,
                 num_triples=kg.num_triples, num_labels=kg.num_labels)
        if out:
            t = time.perf_counter()
            kg.save(out)
            r["save_s"] = time.perf_counter() - t
            r["saved_mib"] = round(sum(p.stat().st_size for p in Path(out).iterdir()) / 2**20, 1)
    r["peak_rss_mib"] = round(peak_rss_mb(), 1)
    return r


# ---------------------------------------------------------------------- parent side
def _child(case: str, path: Path | str = "", out: Path | str = "", timeout: float = 3600) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--case", case, "--path", str(path), "--out-dir", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - start, 3)
    return result


def write_synthetic_ntriples(path: Path, num_entities: int, num_triples: int, seed: int = 0,
                             num_relations: int = 200, limit: int | None = None) -> None:
    """Write a random KG as N-Triples: every entity is a head at least once (when
    ``num_triples >= num_entities``); ``limit`` writes only the first lines."""
    import numpy as np
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    heads = rng.permutation(np.arange(num_triples) % num_entities)
    rels = rng.integers(0, num_relations, num_triples)
    tails = rng.integers(0, num_entities, num_triples)
    n = num_triples if limit is None else min(limit, num_triples)
    chunk = 500_000
    with open(path, "w", encoding="utf-8") as f:
        for s in tqdm(range(0, n, chunk), desc=f"write {path.name}", unit="chunk", leave=False):
            e = min(n, s + chunk)
            f.writelines(
                f"<http://example.org/entity/E{h}> <http://example.org/relation/r{r}> "
                f"<http://example.org/entity/E{t}> .\n"
                for h, r, t in zip(heads[s:e].tolist(), rels[s:e].tolist(), tails[s:e].tolist())
            )


def machine_info() -> dict[str, Any]:
    """:func:`kglm.utils.machine.machine_info` plus what the KG benchmark's report also shows."""
    import numpy
    import rdflib

    from kglm.utils.machine import machine_info as kglm_machine_info

    info = kglm_machine_info()
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        import pyoxigraph

        oxi = pyoxigraph.__version__
    except ImportError:  # optional fast N-Triples reader: recorded as absent
        oxi = None
    info.setdefault("cpu", info["processor"])
    info.update(
        cores=info["cpu_count"],
        memory_gib=mem_gib,
        numpy=numpy.__version__,
        rdflib=rdflib.__version__,
        pyoxigraph=oxi,
        load_average_at_start=info["load_average"],
    )
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--path", default="", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", default="", help=argparse.SUPPRESS)
    add_output_args(ap)
    ap.add_argument("--workdir", default=None, help="temporary directory (default: system temp)")
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--triples", type=int, default=5_000_000)
    ap.add_argument("--rdflib-triples", type=int, default=500_000,
                    help="rdflib parses this many lines and is extrapolated; 0 = the whole file")
    ap.add_argument("--quick", action="store_true", help="100k entities / 500k triples (smoke run)")
    ap.add_argument("--skip-python-reader", action="store_true")
    args = ap.parse_args(argv)

    if args.case:  # child mode
        print(json.dumps(run_case(args.case, args.path, args.out_dir)))
        return 0

    from tqdm import tqdm

    if args.quick:
        if args.update_committed:
            ap.error("--quick results cannot replace the committed full-size results")
        args.entities, args.triples = 100_000, 500_000
    out = output_dir(args, "kg", Path(__file__).resolve().parent)
    info = machine_info()
    cases: dict[str, Any] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="kglm-bench-") as tmp_s:
        tmp = Path(tmp_s)
        plan = ["foodon", "cn100k", "synthetic"]
        for name in tqdm(plan, desc="bench kg", unit="case"):
            if name == "foodon":
                if not FOODON.exists():
                    notes.append(f"FoodOn skipped: {FOODON} absent")
                    continue
                cases["foodon"] = {"build": _child("foodon", FOODON, tmp / "foodon"),
                                   "load": _child("load", "", tmp / "foodon")}
            elif name == "cn100k":
                if not CN100K.exists():
                    notes.append(f"ConceptNet-100K skipped: {CN100K} absent")
                    continue
                cases["cn100k"] = {"build": _child("cn100k", CN100K, tmp / "cn100k"),
                                   "load": _child("load", "", tmp / "cn100k")}
            else:
                nt = tmp / "synthetic.nt"
                t = time.perf_counter()
                write_synthetic_ntriples(nt, args.entities, args.triples)
                syn: dict[str, Any] = {
                    "entities_requested": args.entities, "triples": args.triples,
                    "write_s": round(time.perf_counter() - t, 2),
                    "file_mib": round(nt.stat().st_size / 2**20, 1),
                }
                syn["build_oxigraph"] = _child("synthetic_oxigraph", nt, tmp / "synthetic_kg")
                syn["load"] = _child("load", "", tmp / "synthetic_kg")
                if not args.skip_python_reader:
                    syn["build_python_reader"] = _child("synthetic_python", nt, "")
                n_rdflib = args.triples if args.rdflib_triples <= 0 else min(args.rdflib_triples, args.triples)
                if n_rdflib < args.triples:
                    prefix = tmp / "synthetic_prefix.nt"
                    write_synthetic_ntriples(prefix, args.entities, args.triples, limit=n_rdflib)
                    syn["prefix_triples"] = n_rdflib
                    syn["prefix_oxigraph"] = _child("synthetic_oxigraph", prefix, "")
                    syn["prefix_rdflib"] = _child("rdflib_parse", prefix, "")
                    scale = args.triples / n_rdflib
                    syn["rdflib_parse_s_extrapolated"] = round(syn["prefix_rdflib"]["parse_s"] * scale, 1)
                    rdflib_s = syn["rdflib_parse_s_extrapolated"]
                    notes.append(
                        f"rdflib.Graph().parse was run on the first {n_rdflib:,} lines of the synthetic file "
                        f"and its {args.triples:,}-triple time extrapolated linearly (x{scale:g}); the "
                        f"same-prefix comparison with our reader is measured directly."
                    )
                    prefix.unlink()
                else:
                    syn["rdflib_full"] = _child("rdflib_parse", nt, "")
                    rdflib_s = syn["rdflib_full"]["parse_s"]
                ours = syn["build_oxigraph"]["build_s"]
                syn["speedup_vs_rdflib"] = round(rdflib_s / ours, 1)
                if "prefix_rdflib" in syn:
                    syn["speedup_vs_rdflib_same_prefix_measured"] = round(
                        syn["prefix_rdflib"]["parse_s"] / syn["prefix_oxigraph"]["build_s"], 1)
                cases["synthetic"] = syn
    targets = {}
    if "cn100k" in cases:
        targets["cn100k_build_under_5s"] = cases["cn100k"]["build"]["build_s"] < 5
    if "synthetic" in cases:
        targets["synthetic_load_under_1s"] = cases["synthetic"]["load"]["load_s"] < 1
        targets["synthetic_read_3x_faster_than_rdflib"] = cases["synthetic"]["speedup_vs_rdflib"] >= 3
    result = {"command": " ".join([Path(sys.executable).name, "benchmarks/kg/bench_kg.py", *(argv or sys.argv[1:])]),
              "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": info, "cases": cases, "targets_met": targets, "notes": notes}
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["load_note"] = load_note(info["load_average_at_start"][0], info["load_average_at_end"][0], info["cores"])
    write_report(out, "results", result, render_markdown(result))
    return 0


def _f(x: Any, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _validation_lines(ld: dict[str, Any]) -> list[str]:
    """What ``KnowledgeGraph.load(validate=True)`` (the default) costs against ``validate=False``."""
    return [
        "Validation (`KnowledgeGraph.load(path)` checks the files; `validate=False` trusts them): "
        f"load {_f(ld['validate_load_s'], 3)} s vs {_f(ld['trusted_load_s'], 3)} s; first use of both CSR "
        f"indexes (checked then) {_f(ld['validate_first_csr_s'], 3)} s vs {_f(ld['trusted_first_csr_s'], 3)} s; "
        f"fingerprint (recomputed from the files) {_f(ld['validate_fingerprint_s'], 3)} s vs "
        f"{_f(ld['trusted_fingerprint_s'], 3)} s (read from the header).",
        "",
    ]


def render_markdown(res: dict[str, Any]) -> str:
    """The results as a Markdown report."""
    m = res["machine"]
    lines = [
        "# kglm.kg benchmark",
        "",
        f"Command: `{res['command']}` ({res['date_utc']})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM; {m['platform']}. "
        f"Python {m['python']}, torch {m['torch']}, numpy {m['numpy']}, rdflib {m['rdflib']}, "
        f"pyoxigraph {m['pyoxigraph']}. Load average at start: {m['load_average_at_start']}.",
        f"Load: {m['load_note']}.",
        "",
        "Times in seconds, memory = peak RSS of the case's own process in MiB (imports included; "
        "`after imports` is the RSS before any work).",
        "",
        "| case | entities | triples | labels | build s | save s | load s (mmap) | peak MiB (build) | after imports MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    c = res["cases"]
    for name, key in (("FoodOn (RDF/XML .bz2)", "foodon"), ("ConceptNet-100K train", "cn100k")):
        if key in c:
            b, ld = c[key]["build"], c[key]["load"]
            lines.append(f"| {name} | {b['num_entities']:,} | {b['num_triples']:,} | {b['num_labels']:,} | "
                         f"{_f(b['build_s'])} | {_f(b['save_s'])} | {_f(ld['load_s'], 3)} | {b['peak_rss_mib']} | "
                         f"{b['rss_after_imports_mib']} |")
    if "synthetic" in c:
        s = c["synthetic"]
        b, ld = s["build_oxigraph"], s["load"]
        lines.append(f"| synthetic N-Triples (pyoxigraph reader) | {b['num_entities']:,} | {b['num_triples']:,} | "
                     f"{b['num_labels']:,} | {_f(b['build_s'])} | {_f(b['save_s'])} | {_f(ld['load_s'], 3)} | "
                     f"{b['peak_rss_mib']} | {b['rss_after_imports_mib']} |")
        if "build_python_reader" in s:
            p = s["build_python_reader"]
            lines.append(f"| synthetic N-Triples (pure-Python reader) | {p['num_entities']:,} | {p['num_triples']:,} | "
                         f"{p['num_labels']:,} | {_f(p['build_s'])} | | | {p['peak_rss_mib']} | "
                         f"{p['rss_after_imports_mib']} |")
        lines += [
            "",
            f"Synthetic file: {s['triples']:,} triples over {s['entities_requested']:,} entities, "
            f"{s['file_mib']} MiB, written in {s['write_s']} s.",
            "",
            f"Loading the saved synthetic graph: {_f(ld['load_s'], 3)} s (mmap; entity names and labels "
            f"are parsed lazily on first use: names {_f(ld['parse_entity_names_s'])} s, labels "
            f"{_f(ld['parse_labels_s'])} s; first CSR neighbours query {_f(ld['first_neighbors_query_s'], 3)} s).",
            "",
            *(_validation_lines(ld) if "trusted_load_s" in ld else []),
        ]
        if "prefix_rdflib" in s:
            pr, po = s["prefix_rdflib"], s["prefix_oxigraph"]
            lines += [
                f"rdflib vs kglm on the first {s['prefix_triples']:,} lines (measured): rdflib.Graph().parse "
                f"{_f(pr['parse_s'])} s, peak {pr['peak_rss_mib']} MiB; kglm from_rdf (full KnowledgeGraph "
                f"build) {_f(po['build_s'])} s, peak {po['peak_rss_mib']} MiB: "
                f"**{s['speedup_vs_rdflib_same_prefix_measured']}x**.",
                "",
                f"rdflib on all {s['triples']:,} triples: **extrapolated linearly** to "
                f"{s['rdflib_parse_s_extrapolated']} s vs kglm {_f(b['build_s'])} s measured: "
                f"**{s['speedup_vs_rdflib']}x**.",
            ]
        else:
            lines.append(f"rdflib.Graph().parse on the whole file: {_f(s['rdflib_full']['parse_s'])} s "
                         f"(peak {s['rdflib_full']['peak_rss_mib']} MiB) vs kglm {_f(b['build_s'])} s: "
                         f"**{s['speedup_vs_rdflib']}x**.")
    lines += ["", "Targets: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in res["targets_met"].items())]
    for n in res["notes"]:
        lines.append(f"\n- {n}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
