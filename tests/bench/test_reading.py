"""kglm.bench.report: the terminal table, chance and counts, the controls paragraph, the chart."""

from __future__ import annotations

from typing import Any

from kglm.bench.report import controls_reading, plot_results, results_markdown, results_text


def _result(accs: dict[str, list[float]], dev: int = 16, loss: tuple[float, float] = (1.61, 1.43)) -> dict[str, Any]:
    names = {
        "lm": "LM baseline",
        "qagnn": "QA-GNN-style",
        "qagnn+no_graph": "QA-GNN, no KG (control)",
        "qagnn+permute_edges": "QA-GNN, permuted edges (control)",
        "lm+kt": "LM + knowledge text",
        "lm+kt-shuffled": "LM + shuffled knowledge text (control)",
    }
    jobs = []
    for key, values in accs.items():
        for seed, acc in enumerate(values):
            jobs.append({"model": names[key], "model_key": key, "dataset": "demo", "seed": seed, "accuracy": acc,
                         "loss_first": loss[0], "loss_last": loss[1], "train_time_s": 1.0, "error": None})
    summary = []
    for key, values in accs.items():
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
        summary.append({"dataset": "demo", "model": names[key], "model_key": key, "runs": len(values), "failed": 0,
                        "accuracy_mean": mean, "accuracy_std": std, "accuracies": values, "train_time_s": 1.0,
                        "train_examples_per_s": 10.0, "eval_examples_per_s": 50.0, "errors": []})
    return {
        "suite": "demo", "description": "test", "backbone": "tiny", "seeds": [0, 1, 2], "jobs": jobs,
        "summary": summary, "settings": {}, "machine": {"cpu_count": 2}, "wall_time_s": 60.0,
        "prepare_time_s": {"demo": 1.0},
        "datasets": {"demo": {"train_examples": 37, "dev_examples": dev, "num_choices": 5}},
    }


def test_reading_follows_the_numbers() -> None:
    # QA-GNN clearly above its no-KG control, level with its permuted-edges control
    data = _result({
        "lm": [0.75, 0.8125, 0.75],
        "qagnn": [0.9375, 0.875, 0.9375],
        "qagnn+no_graph": [0.5, 0.5625, 0.5],
        "qagnn+permute_edges": [0.9375, 0.875, 0.875],
    })
    text = controls_reading(data)
    assert "LM baseline reaches 77.1 ± 3.6% against 20.0% chance over 3 seeds" in text
    assert "training loss 1.61 -> 1.43: it learns from the text alone" in text
    assert "beats its no-KG control by 39.6 ± 7.2 points over 3 seeds: the KG input matters" in text
    assert "beats its permuted-edges control by 2.1 ± 3.6 points over 3 seeds: the graph structure does not" in text
    assert "one question is 6.2 points" in text
    # the other way round: the permuted graph wins, the baseline sits at chance
    flipped = _result({
        "lm": [0.1875, 0.25, 0.1875],
        "qagnn": [0.5, 0.5, 0.5],
        "qagnn+permute_edges": [0.75, 0.75, 0.8125],
    }, loss=(1.609, 1.609))
    text = controls_reading(flipped)
    assert "it is at chance" in text
    assert "trails its permuted-edges control by 27.1" in text and "does not matter" in text


def test_table_and_markdown_show_chance_counts_and_seeds(tmp_path) -> None:
    data = _result({"lm": [0.75, 0.8125, 0.75], "qagnn": [0.9375, 0.875, 0.9375]})
    text = results_text(data)
    assert "chance (5 choices)" in text and "20.0 %" in text
    assert "16 dev questions (one question = 6.2 points), 37 training questions, 3 seeds (0, 1, 2)" in text
    md = results_markdown(data)
    assert "| demo | *chance (5 choices)* | 20.0 |" in md
    assert "16 dev questions" in md and "## Reading" in md
    out = plot_results(data, tmp_path / "chart.png")
    assert out.stat().st_size > 1000


def test_one_seed_gives_no_verdict() -> None:
    # two questions apart on one seed: no claim either way, whatever the sign
    data = _result({
        "lm": [0.75],
        "qagnn": [0.5625],
        "qagnn+no_graph": [0.625],
        "qagnn+permute_edges": [0.5],
    })
    text = controls_reading(data)
    assert "trails the LM baseline by 18.8 ± 0.0 points (no verdict yet, seed-to-seed noise is unknown with one seed)" in text
    assert "beats its permuted-edges control by 6.2 ± 0.0 points over 1 seed: no verdict yet" in text
    assert "trails its no-KG control by 6.2 ± 0.0 points over 1 seed: no verdict yet" in text
    assert "matters" not in text and "adds nothing" not in text


def test_knowledge_text_models_are_read_against_the_lm_and_their_shuffled_control() -> None:
    data = _result({
        "lm": [0.5, 0.5625, 0.5],
        "lm+kt": [0.75, 0.8125, 0.75],
        "lm+kt-shuffled": [0.25, 0.3125, 0.25],
    })
    text = controls_reading(data)
    assert "LM + knowledge text beats the LM baseline by 25.0 ± 0.0 points." in text
    assert ("LM + knowledge text beats its shuffled-knowledge control by 50.0 ± 0.0 points over 3 seeds: "
            "the right knowledge text for the right choice matters") in text
    assert "shuffled knowledge text (control) beats the LM" not in text and "trails the LM" not in text


def test_mcnemar_p_exact_values() -> None:
    import pytest

    from kglm.bench.report import mcnemar_p

    # binomial(n, 1/2) two-sided: 2 * P(X <= min) capped at 1
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(3, 3) == 1.0
    assert mcnemar_p(0, 5) == pytest.approx(2 / 32) and mcnemar_p(5, 0) == mcnemar_p(0, 5)
    assert mcnemar_p(1, 9) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_p(61, 48) == pytest.approx(0.2502820046919221)  # scipy.stats.binomtest(48, 109).pvalue
    assert 0 < mcnemar_p(0, 1000) < 1e-300  # exact integers: in floats comb(n, k) overflows past ~1,030 questions
    with pytest.raises(ValueError, match=">= 0"):
        mcnemar_p(-1, 2)


def test_reading_adds_the_question_by_question_test_where_jobs_kept_it() -> None:
    from kglm.bench.runner import labels_digest

    data = _result({"lm": [0.5, 0.5], "lm+kt": [0.75, 0.75], "lm+kt-shuffled": [0.25, 0.5]})
    labels = labels_digest([0] * 16)
    correct = {  # 16 dev questions; the seed-1 control has per-question results over other questions
        ("lm", 0): "1111111100000000", ("lm+kt", 0): "1111111111110000", ("lm+kt-shuffled", 0): "1111000000000000",
        ("lm", 1): "1111111100000000", ("lm+kt", 1): "0111111111111000", ("lm+kt-shuffled", 1): "1111111100000000",
    }
    for job in data["jobs"]:
        job["dev_correct"] = correct[job["model_key"], job["seed"]]
        job["dev_labels_digest"] = "0123456789abcdef" if (job["model_key"], job["seed"]) == ("lm+kt-shuffled", 1) \
            else labels
    text = controls_reading(data)
    # vs the LM: seed 0 +4/-0, seed 1 +5/-1
    assert "Question by question (questions only the first gets right vs only the second; exact McNemar test): " \
           "seed 0, 4 vs 0, p = 0.12; seed 1, 5 vs 1, p = 0.22." in text
    # vs its control: only seed 0 pairs (seed 1's labels digest differs)
    assert "seed 0, 8 vs 0, p = 0.0078." in text and "seed 1, 5 vs 1, p = 0.22." in text
    assert text.count("Question by question") == 2
    for job in data["jobs"]:  # records made before per-question results were kept: no such sentence
        job["dev_correct"] = None
    assert "Question by question" not in controls_reading(data)


def test_a_difference_counts_only_outside_the_paired_t_margin() -> None:
    import pytest

    from kglm.bench import report

    scipy_stats = pytest.importorskip("scipy.stats", reason="scipy checks the t table")
    for df, t in enumerate(report._T975, start=1):
        assert t == pytest.approx(scipy_stats.t.ppf(0.975, df), abs=5e-4)
    point = 100 / 1221
    # QA-GNN vs its permuted-edges control on csqa: +2, +3, +5 questions over 3 seeds. Twice the
    # standard error (0.14 points) would call it real; the t margin with 2 degrees of freedom (0.30) does not
    diffs = [2 * point, 3 * point, 5 * point]
    mean, std, clear = report._clear(diffs, point)
    assert 2 * std / 3**0.5 < mean < report._margin(std, 3) and not clear
    assert report._clear([4 * point, 5 * point, 6 * point], point)[2]  # steady: t = 8.7 > 4.3
    assert not report._clear([point, point, point], point)[2]  # one question is never enough
    assert not report._clear([30.0], point)[2]  # nor is one seed
