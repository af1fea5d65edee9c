"""Result files of a benchmark run: ``results.json``, ``results.md``, ``results.png``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kglm.bench.runner import SuiteResult

__all__ = ["write_results", "results_markdown", "plot_results", "load_results", "merge_results"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "—" if value is None else fmt.format(value)


def results_markdown(result: SuiteResult | dict[str, Any]) -> str:
    """The Markdown report: accuracy mean ± std over seeds, times, throughputs, machine."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    lines = [f"# kglm bench `{data['suite']}`", "", data["description"], ""]
    seeds = ", ".join(str(s) for s in data["seeds"])
    lines.append(f"Backbone `{data['backbone']}`; seeds {seeds}; dev accuracy in % (mean ± std over seeds).")
    lines.append("")
    lines.append("| dataset | model | dev accuracy | runs | train time (s) | train q/s | eval q/s |")
    lines.append("|---|---|---|---|---|---|---|")
    for row in data["summary"]:
        acc = "failed" if row["accuracy_mean"] is None else (
            f"{_pct(row['accuracy_mean'])} ± {_pct(row['accuracy_std'])}"
        )
        runs = f"{row['runs']}" + (f" ({row['failed']} failed)" if row["failed"] else "")
        lines.append(
            f"| {row['dataset']} | {row['model']} | {acc} | {runs} | {_num(row['train_time_s'])} | "
            f"{_num(row['train_examples_per_s'])} | {_num(row['eval_examples_per_s'])} |"
        )
    errors = [(r["model"], e) for r in data["summary"] for e in r["errors"]]
    if errors:
        lines += ["", "Failed jobs:", ""]
        lines += [f"- {model}: `{error[:300]}`" for model, error in errors]
    lines += ["", "## Data", ""]
    for name, info in data["datasets"].items():
        parts = ", ".join(f"{k}={v}" for k, v in info.items())
        lines.append(f"- **{name}**: {parts}; prepared in {data['prepare_time_s'].get(name, 0):.0f} s")
    lines += ["", "## Settings", ""]
    settings = {k: v for k, v in data["settings"].items() if k not in ("model", "kg_control", "seed")}
    lines.append("`" + json.dumps(settings, sort_keys=True) + "`")
    lines += ["", "## Machine", ""]
    machine = data["machine"]
    lines.append(", ".join(f"{k}: {v}" for k, v in machine.items() if v is not None))
    lines += ["", f"Whole suite: {data['wall_time_s'] / 60:.1f} min wall time.", ""]
    return "\n".join(lines)


def plot_results(result: SuiteResult | dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """A bar chart of dev accuracy per model (mean ± std over seeds), one panel per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = result.to_dict() if hasattr(result, "to_dict") else result
    rows = data["summary"]
    names = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(max(6, 1.3 * 6) * len(names), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], names):
        sub = [r for r in rows if r["dataset"] == dataset]
        means = [100 * (r["accuracy_mean"] or 0.0) for r in sub]
        stds = [100 * (r["accuracy_std"] or 0.0) for r in sub]
        colours = [
            "#BAB0AC" if r["model_key"] == "lm" else ("#E45756" if "+" in r["model_key"] else "#4C78A8")
            for r in sub
        ]
        xs = range(len(sub))
        ax.bar(xs, means, yerr=stds, color=colours, capsize=4)
        for x, r, m, sd in zip(xs, sub, means, stds):
            label = "failed" if r["accuracy_mean"] is None else f"{m:.1f}"
            ax.text(x, m + sd + 0.8, label, ha="center", va="bottom", fontsize=8)
        choices = data.get("datasets", {}).get(dataset, {}).get("num_choices")
        if choices:
            ax.axhline(100.0 / choices, color="#555555", linestyle="--", linewidth=1)
            ax.text(len(sub) - 0.5, 100.0 / choices, " chance", va="bottom", ha="right", fontsize=7, color="#555555")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r["model"] for r in sub], rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("dev accuracy (%)")
        ax.set_title(f"{data['suite']}: {dataset} ({data['backbone']})", fontsize=10)
        top = max(means + [0.0]) + max(stds + [0.0])
        ax.set_ylim(0, max(10.0, top * 1.2))
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_results(result: SuiteResult, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``results.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    paths = {"json": out / "results.json", "md": out / "results.md", "png": out / "results.png"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(results_markdown(data), encoding="utf-8")
    plot_results(data, paths["png"])
    return paths


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``results.json`` (or the directory holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    return json.loads(p.read_text(encoding="utf-8"))


def merge_results(*results: dict[str, Any]) -> SuiteResult:
    """Combine runs of one suite (for example seeds run in separate processes) into one result.

    Jobs are concatenated in the given order; seeds, data and prepare times are
    merged; wall time is the sum. The runs must share the suite, backbone and
    settings.

    Raises:
        ValueError: when the runs differ in suite, backbone or settings.
    """
    from kglm.bench.runner import JobResult, SuiteResult

    if not results:
        raise ValueError("nothing to merge")
    first = results[0]
    for other in results[1:]:
        for key in ("suite", "backbone", "settings"):
            if other[key] != first[key]:
                raise ValueError(f"cannot merge runs with different {key}: {first[key]!r} != {other[key]!r}")
    jobs = [JobResult(**job) for r in results for job in r["jobs"]]
    seeds = sorted({s for r in results for s in r["seeds"]})
    prepare: dict[str, float] = {}
    datasets: dict[str, dict[str, Any]] = {}
    for r in results:
        datasets.update(r["datasets"])
        for name, value in r["prepare_time_s"].items():
            prepare[name] = prepare.get(name, 0.0) + value
    return SuiteResult(
        suite=first["suite"],
        description=first["description"],
        backbone=first["backbone"],
        seeds=seeds,
        jobs=jobs,
        settings=first["settings"],
        datasets=datasets,
        machine=first["machine"],
        wall_time_s=sum(r["wall_time_s"] for r in results),
        prepare_time_s=prepare,
    )
