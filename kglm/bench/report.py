"""Result files of a benchmark run: ``results.json``, ``results.md``, ``results.png``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kglm.bench.runner import SuiteResult

__all__ = [
    "write_results",
    "results_markdown",
    "results_text",
    "controls_reading",
    "plot_results",
    "load_results",
    "merge_results",
    "mcnemar_p",
]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "—" if value is None else fmt.format(value)


_CONTROL_READING = {
    # control: (what it removes, when the model clearly beats it, when it does not)
    "no_graph": ("no-KG control", "the KG input matters", "the KG input adds nothing measurable here"),
    "permute_edges": (
        "permuted-edges control",
        "the graph structure matters",
        "the graph structure does not matter measurably here",
    ),
    "permute_relations": (
        "permuted-relations control",
        "the relation types matter",
        "the relation types do not matter measurably here",
    ),
    "shuffled": (
        "shuffled-knowledge control",
        "the right knowledge text for the right choice matters",
        "the knowledge text adds nothing measurable over another question's",
    ),
}


def _control_of(key: str) -> tuple[str, str] | None:
    """``(model key, control)`` when ``key`` is a control run (``qagnn+no_graph``,
    ``lm+kt-shuffled``), else ``None``."""
    base, _, control = key.rpartition("+")
    if base and control in _CONTROL_READING:
        return base, control
    if key.endswith("-shuffled"):
        return key[: -len("-shuffled")], "shuffled"
    return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _dataset_facts(data: dict[str, Any], dataset: str) -> dict[str, Any]:
    """Chance (%), dev/train question counts, one dev question in points, seeds of one dataset."""
    info = (data.get("datasets") or {}).get(dataset, {})
    choices = info.get("num_choices")
    dev = info.get("dev_examples") or 0
    return {
        "chance": 100.0 / choices if choices else None,
        "num_choices": choices,
        "dev": dev,
        "train": info.get("train_examples"),
        "point": 100.0 / dev if dev else None,
        "seeds": sorted({j["seed"] for j in data.get("jobs", []) if j.get("dataset") == dataset}),
    }


def _by_seed(data: dict[str, Any], dataset: str, key: str) -> dict[int, dict[str, Any]]:
    return {
        int(j["seed"]): j
        for j in data.get("jobs", [])
        if j.get("dataset") == dataset and j.get("model_key") == key and j.get("accuracy") is not None
    }


def _paired(data: dict[str, Any], dataset: str, a: str, b: str) -> list[float]:
    """Per-seed accuracy differences ``a - b`` in points, over the seeds both finished."""
    ja, jb = _by_seed(data, dataset, a), _by_seed(data, dataset, b)
    return [100.0 * (ja[s]["accuracy"] - jb[s]["accuracy"]) for s in sorted(set(ja) & set(jb))]


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value for two models scored on the same questions:
    ``only_a`` questions only the first gets right, ``only_b`` only the second (the
    questions both or neither get right carry no information). Under the null
    hypothesis each disagreement goes either way with probability 1/2, so this is the
    binomial test of ``min(only_a, only_b)`` out of ``only_a + only_b``, computed in
    exact integers (no underflow for thousands of questions)."""
    from fractions import Fraction
    from math import comb

    if only_a < 0 or only_b < 0:
        raise ValueError(f"question counts must be >= 0, got {only_a} and {only_b}")
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(only_a, only_b) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def _paired_questions(data: dict[str, Any], dataset: str, a: str, b: str) -> list[tuple[int, int, int]]:
    """Per seed both jobs kept per-question results for (over the same dev questions):
    ``(seed, questions only a gets right, questions only b gets right)``."""
    ja, jb = _by_seed(data, dataset, a), _by_seed(data, dataset, b)
    out = []
    for seed in sorted(set(ja) & set(jb)):
        x, y = ja[seed], jb[seed]
        if not x.get("dev_correct") or not y.get("dev_correct"):
            continue
        if x.get("dev_labels_digest") != y.get("dev_labels_digest") or len(x["dev_correct"]) != len(y["dev_correct"]):
            continue
        pairs = list(zip(x["dev_correct"], y["dev_correct"], strict=True))
        out.append((seed, pairs.count(("1", "0")), pairs.count(("0", "1"))))
    return out


def _question_by_question(data: dict[str, Any], dataset: str, a: str, b: str) -> str:
    """`` Question by question (exact McNemar test): seed 0, 61 right only with the first
    and 48 only with the second, p = 0.25; ...`` ("" when no seed has both jobs' per-question results)."""
    seeds = _paired_questions(data, dataset, a, b)
    if not seeds:
        return ""
    parts = [f"seed {seed}, {x} vs {y}, p = {mcnemar_p(x, y):.2g}" for seed, x, y in seeds]
    return (
        " Question by question (questions only the first gets right vs only the second; exact McNemar test): "
        + "; ".join(parts)
        + "."
    )


_ONE_SEED = "no verdict yet, seed-to-seed noise is unknown with one seed"


#: Student's t two-sided 95% quantiles t(0.975, df) for df = 1..30 (standard table values;
#: tests/bench/test_reading.py checks them against scipy where it is installed). Beyond 30: 1.96.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def _margin(std: float, n: int) -> float:
    """Half-width of the 95% confidence interval of a mean of ``n`` values with sample
    std ``std``: ``t(0.975, n - 1) * std / sqrt(n)`` (a paired t-test over seeds: with 3
    seeds that is 4.3 standard errors, not 2)."""
    t = _T975[n - 2] if n - 2 < len(_T975) else 1.96
    return t * std / n**0.5


def _clear(diffs: list[float], point: float | None) -> tuple[float, float, bool]:
    """Mean and std of ``diffs`` and whether the mean is beyond noise: at least two
    seeds, more than one dev question and outside the 95% margin of the per-seed
    differences (:func:`_margin`). One seed never counts: its noise is unknown."""
    import statistics

    mean = sum(diffs) / len(diffs)
    if len(diffs) < 2:
        return mean, 0.0, False
    std = statistics.stdev(diffs)
    noise = max(point or 0.0, _margin(std, len(diffs)))
    return mean, std, abs(mean) > noise


def controls_reading(result: SuiteResult | dict[str, Any]) -> str:
    """One paragraph per dataset reading the LM baseline and the KG controls, from the numbers.

    The LM baseline is compared with chance (and its training loss, first and
    last logged step); each KG model with the LM baseline; each model with each
    of its controls (same model and seeds, no real KG signal), as the mean ±
    std of the per-seed differences. A difference counts only when it exceeds
    both one dev question and the 95% margin of a paired t-test over seeds; otherwise it is read as
    noise. Returns ``""`` when there is nothing to compare.
    """
    data = result.to_dict() if hasattr(result, "to_dict") else result
    rows = data.get("summary") or []
    paragraphs: list[str] = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        facts = _dataset_facts(data, dataset)
        sub = {r["model_key"]: r for r in rows if r["dataset"] == dataset and r["accuracy_mean"] is not None}
        names = {r["model_key"]: r["model"] for r in rows if r["dataset"] == dataset}
        point = facts["point"]
        sentences: list[str] = []
        lm = sub.get("lm")
        if lm is not None and facts["chance"] is not None:
            mean, std = 100 * lm["accuracy_mean"], 100 * (lm["accuracy_std"] or 0.0)
            jobs = list(_by_seed(data, dataset, "lm").values())
            first = [j["loss_first"] for j in jobs if j.get("loss_first") is not None]
            last = [j["loss_last"] for j in jobs if j.get("loss_last") is not None]
            loss = ""
            if first and last:
                loss = f", training loss {sum(first) / len(first):.2f} -> {sum(last) / len(last):.2f}"
            above = mean - facts["chance"] > max(point or 0.0, _margin(std, lm["runs"]) if lm["runs"] > 1 else 0.0)
            verdict = "it learns from the text alone" if above else "it is at chance: it learned nothing usable"
            sentences.append(
                f"The LM baseline reaches {mean:.1f} ± {std:.1f}% against {facts['chance']:.1f}% chance "
                f"over {_count(lm['runs'], 'seed')}{loss}: {verdict}."
            )
        for key, row in sub.items():
            if key == "lm" or _control_of(key) is not None or lm is None:
                continue
            diffs = _paired(data, dataset, key, "lm")
            if not diffs:
                continue
            mean, std, clear = _clear(diffs, point)
            tail = "" if clear else (f" ({_ONE_SEED})" if len(diffs) < 2 else " (within noise)")
            if abs(mean) < 0.05:
                sentences.append(f"{row['model']} matches the LM baseline (0.0 ± {std:.1f} points).")
            else:
                how = "beats" if mean > 0 else "trails"
                sentences.append(
                    f"{row['model']} {how} the LM baseline by {abs(mean):.1f} ± {std:.1f} points{tail}."
                )
            sentences[-1] += _question_by_question(data, dataset, key, "lm")
        for key, row in sub.items():
            pair = _control_of(key)
            if pair is None or pair[0] not in sub:
                continue
            base, control = pair
            diffs = _paired(data, dataset, base, key)
            if not diffs:
                continue
            label, yes, no = _CONTROL_READING[control]
            mean, std, clear = _clear(diffs, point)
            how = "beats" if mean >= 0 else "trails"
            verdict = _ONE_SEED if len(diffs) < 2 else (yes if clear and mean > 0 else no)
            sentences.append(
                f"{names[base]} {how} its {label} by {abs(mean):.1f} ± {std:.1f} points over "
                f"{_count(len(diffs), 'seed')}: {verdict}." + _question_by_question(data, dataset, base, key)
            )
        if not sentences:
            continue
        if point is not None:
            sentences.append(
                f"With {facts['dev']} dev questions one question is {point:.1f} points; a difference counts "
                "only over two or more seeds, beyond one question and the 95% margin of the per-seed differences "
                "(a paired t-test over seeds)."
            )
        prefix = f"{dataset}: " if len(data.get("datasets") or {}) > 1 else ""
        paragraphs.append(prefix + " ".join(sentences))
    return "\n\n".join(paragraphs)


def results_text(result: SuiteResult | dict[str, Any]) -> str:
    """The result table for a terminal: accuracy, seeds, train time per model, and a chance row."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    rows = data.get("summary") or []
    lines: list[str] = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        facts = _dataset_facts(data, dataset)
        if len(data.get("datasets") or {}) > 1:
            lines.append(f"{dataset}:")
        lines.append(f"{'model':<36} {'dev accuracy':>16} {'seeds':>5} {'train s':>8}")
        for row in (r for r in rows if r["dataset"] == dataset):
            acc = "failed" if row["accuracy_mean"] is None else (
                f"{_pct(row['accuracy_mean'])} ± {_pct(row['accuracy_std'])} %"
            )
            train_s = "—" if row["train_time_s"] is None else f"{row['train_time_s']:.1f}"
            lines.append(f"{row['model']:<36} {acc:>16} {row['runs']:>5} {train_s:>8}")
        if facts["chance"] is not None:
            label = f"chance ({facts['num_choices']} choices)"
            lines.append(f"{label:<36} {facts['chance']:>14.1f} % {'':>5} {'':>8}")
        if facts["dev"]:
            lines.append(
                f"{facts['dev']} dev questions (one question = {facts['point']:.1f} points), "
                f"{facts['train']} training questions, {_count(len(facts['seeds']), 'seed')} "
                f"({', '.join(map(str, facts['seeds']))}); ± is the std over seeds."
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def results_markdown(result: SuiteResult | dict[str, Any]) -> str:
    """The Markdown report: accuracy mean ± std over seeds, times, throughputs, machine."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    lines = [f"# kglm bench `{data['suite']}`", "", data["description"], ""]
    seeds = ", ".join(str(s) for s in data["seeds"])
    lines.append(f"Backbone `{data['backbone']}`; seeds {seeds}; dev accuracy in % (mean ± std over seeds).")
    chances = {n: 100.0 / i["num_choices"] for n, i in data["datasets"].items() if i.get("num_choices")}
    if chances:
        lines.append("Chance: " + ", ".join(f"{n} {c:.1f}%" for n, c in chances.items()) + ".")
    if data.get("jobs_planned"):
        done = sum(1 for j in data["jobs"] if j.get("accuracy") is not None)
        lines.append(f"Jobs finished: {done} of {data['jobs_planned']}.")
    lines.append("Train time: per job, without the one-off data preparation (see Data).")
    lines.append("")
    for name in data.get("datasets") or {}:
        facts = _dataset_facts(data, name)
        if facts["dev"]:
            lines.append(
                f"{name}: {facts['dev']} dev questions (one question = {facts['point']:.1f} points), "
                f"{facts['train']} training questions, {_count(len(facts['seeds']), 'seed')}; runs = seeds finished."
            )
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
        reference = (data.get("anchor") or {}).get("baseline")
        if row["model_key"] == "lm" and reference:
            lines.append(f"| {row['dataset']} | *reference: plain transformers.Trainer (not run by this suite)* | "
                         f"{_pct(reference['accuracy'])} | seed 0 | — | — | — |")
    for name in dict.fromkeys(r["dataset"] for r in data["summary"]):
        facts = _dataset_facts(data, name)
        if facts["chance"] is not None:
            lines.append(f"| {name} | *chance ({facts['num_choices']} choices)* | {facts['chance']:.1f} | — | — | — | — |")
    reading = controls_reading(data)
    if reading:
        lines += ["", "## Reading", "", reading]
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
    own = {key: value for key, value in (data.get("model_settings") or {}).items() if value}
    if own:
        lines += ["", "Per model, besides the seed:", ""]
        lines += [f"- `{key}`: `{json.dumps(value, sort_keys=True)}`" for key, value in own.items()]
    groups: dict[str, str] = {}
    for job in data["jobs"]:
        if job.get("param_group_lrs") and job["model_key"] not in groups:
            groups[job["model_key"]] = ", ".join(
                f"{g.get('name', '?')} {g.get('lr')}" for g in job["param_group_lrs"] if g.get("num_trained_params", 1)
            )
    if groups:
        lines += ["", "Learning rate per parameter group (trained parameters only):", ""]
        lines += [f"- `{key}`: {text}" for key, text in groups.items()]
    lines += ["", "## Machine", ""]
    machine = data["machine"]
    lines.append(", ".join(f"{k}: {v}" for k, v in machine.items() if v is not None))
    anchor = data.get("anchor") or {}
    if anchor:
        lines += ["", "## Anchor", ""]
        lines.append(f"Published protocol: {anchor.get('source', '—')}: "
                     f"`{json.dumps(anchor.get('settings', {}), sort_keys=True)}` (`--preset anchor`).")
        if anchor.get("baseline"):
            ref = anchor["baseline"]
            lines.append(f"Reference baseline: {_pct(ref['accuracy'])}%: {ref['what']}. Command: `{ref['command']}`.")
    lines += ["", "## Run", ""]
    if data.get("command"):
        lines.append(f"Command: `{data['command']}`; git commit `{data.get('git_commit')}`.")
    runs = data.get("runs") or []
    if len(runs) > 1:
        lines.append(f"Run in {len(runs)} processes (resumed or side by side); wall time counts the time any of "
                     "them ran, overlaps once.")
    lines += ["", f"Whole suite: {data['wall_time_s'] / 60:.1f} min wall time.", ""]
    return "\n".join(lines)


def plot_results(result: SuiteResult | dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """A bar chart of dev accuracy per model (mean ± std over seeds), one panel per dataset."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    data = result.to_dict() if hasattr(result, "to_dict") else result
    rows = data["summary"]
    names = list(dict.fromkeys(r["dataset"] for r in rows)) or list(data.get("datasets") or {}) or ["no jobs yet"]
    # constrained layout keeps the figure legend outside the panels; an empty chart (no job
    # finished yet) has nothing to lay out and would only warn
    fig = Figure(figsize=(max(6, 1.3 * 6) * len(names) + 2.2, 4.8), layout="constrained" if rows else None)
    axes = fig.subplots(1, len(names), squeeze=False)
    handles = [
        Patch(color="#BAB0AC", label="LM baseline (text only)"),
        Patch(color="#4C78A8", label="KG model"),
        Patch(color="#E45756", label="KG control (no real KG signal)"),
    ]
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
            chance = 100.0 / choices
            ax.axhline(chance, color="#333333", linestyle="--", linewidth=1.2)
            ax.text(-0.45, chance + 0.8, f"chance {chance:.0f}%", va="bottom", ha="left", fontsize=9,
                    color="#333333", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
            if len(handles) == 3:
                handles.append(Line2D([0], [0], color="#333333", linestyle="--", label="chance (1 / choices)"))
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r["model"] for r in sub], rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("dev accuracy (%)")
        ax.set_title(f"{data['suite']}: {dataset} ({data['backbone']})", fontsize=10)
        top = max(means + [0.0]) + max(stds + [0.0])
        ax.set_ylim(0, max(10.0, top * 1.2))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    return out


def write_results(result: SuiteResult, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``results.png`` into ``out_dir``, each atomically."""
    from kglm.utils.io import atomic_file, atomic_write, atomic_write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    paths = {"json": out / "results.json", "md": out / "results.md", "png": out / "results.png"}
    atomic_write_json(paths["json"], data)
    atomic_write(paths["md"], results_markdown(data))
    with atomic_file(paths["png"]) as tmp:  # keeps the .png suffix matplotlib chooses the format by
        plot_results(data, tmp)
    return paths


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``results.json`` (or the directory holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    return json.loads(p.read_text(encoding="utf-8"))


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Total length of the union of ``[start, end]`` intervals."""
    total = 0.0
    end = None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def merge_results(*results: dict[str, Any]) -> SuiteResult:
    """Combine runs of one suite (for example seeds run in separate processes) into one result.

    Jobs are concatenated in the given order (a job present in several runs is
    an error); seeds, data and prepare times are merged. Wall time is elapsed
    time: the union of the runs' ``[started_at, finished_at]`` intervals, so
    runs that overlapped in time are not counted twice (results without those
    times fall back to the sum of their wall times). The runs must share the
    suite, backbone and settings.

    Raises:
        ValueError: when the runs differ in suite, backbone or settings, or repeat a job.
    """
    from kglm.bench.runner import JobResult, SuiteResult

    if not results:
        raise ValueError("nothing to merge")
    first = results[0]
    for other in results[1:]:
        for key in ("suite", "backbone", "settings"):
            if other[key] != first[key]:
                raise ValueError(f"cannot merge runs with different {key}: {first[key]!r} != {other[key]!r}")
    known = set(JobResult.__dataclass_fields__)
    jobs = [JobResult(**{k: v for k, v in job.items() if k in known}) for r in results for job in r["jobs"]]
    seen: set[tuple[str, str, int]] = set()
    for job in jobs:
        key = (job.dataset, job.model_key, job.seed)
        if key in seen and job.accuracy is not None:
            raise ValueError(f"cannot merge: job {key} is in more than one run")
        seen.add(key)
    seeds = sorted({s for r in results for s in r["seeds"]})
    prepare: dict[str, float] = {}
    datasets: dict[str, dict[str, Any]] = {}
    runs: list[dict[str, Any]] = []
    for r in results:
        datasets.update(r["datasets"])
        runs += r.get("runs") or []
        for name, value in r["prepare_time_s"].items():
            prepare[name] = prepare.get(name, 0.0) + value
    if all(r.get("started_at") is not None and r.get("finished_at") is not None for r in results):
        intervals = [(float(r["started_at"]), float(r["finished_at"])) for r in results]
        wall = _union_seconds(intervals)
        started, finished = min(a for a, _ in intervals), max(b for _, b in intervals)
    else:
        wall, started, finished = sum(r["wall_time_s"] for r in results), None, None
    commits = list(dict.fromkeys(r.get("git_commit") for r in results if r.get("git_commit")))
    commands = list(dict.fromkeys(r.get("command") for r in results if r.get("command")))
    return SuiteResult(
        suite=first["suite"],
        description=first["description"],
        backbone=first["backbone"],
        seeds=seeds,
        jobs=jobs,
        settings=first["settings"],
        datasets=datasets,
        machine=first["machine"],
        wall_time_s=wall,
        prepare_time_s=prepare,
        command=" ; ".join(commands) or None,
        git_commit=" ".join(commits) or None,
        jobs_planned=max((r.get("jobs_planned") or 0 for r in results), default=0) or None,
        started_at=started,
        finished_at=finished,
        anchor=first.get("anchor") or {},
        runs=runs,
    )
