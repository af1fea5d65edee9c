"""``kglm link`` and ``kglm ground`` on a tiny saved KG (rule lemmatizer, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kglm.cli import main
from kglm.grounding.cache import GroundedDataset
from kglm.kg.graph import KnowledgeGraph


@pytest.fixture
def kg_dir(tmp_path: Path) -> Path:
    kg = KnowledgeGraph(
        ["milk", "cold", "fridge", "oven", "kitchen"],
        ["AtLocation", "HasProperty"],
        [[0, 0, 2], [2, 1, 1], [3, 0, 4], [2, 0, 4]],
        labels={2: ["fridge", "refrigerator"]},
    )
    kg.save(tmp_path / "kg")
    return tmp_path / "kg"


def test_link_prints_mentions(kg_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["link", "--kg", str(kg_dir), "--lemmatizer", "rule", "Cold milk in refrigerators", ""])
    assert code == 0
    assert capsys.readouterr().out == (
        "0\t4\tCold\tcold\t1\n5\t9\tmilk\tmilk\t1\n13\t26\trefrigerators\tfridge\t1\n\n"
    )
    assert (kg_dir / "extras" / "linker" / "meta.json").exists()
    assert main(["link", "--kg", str(kg_dir), "--lemmatizer", "rule", "--json", "an oven"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"start": 3, "end": 7, "text": "oven", "entity_id": 3, "entity": "oven", "score": 1.0}
    ]


def test_ground_writes_output_and_summary(
    kg_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "q.jsonl"
    record = {
        "answerKey": "A",
        "id": "x1",
        "question": {
            "question_concept": "milk",
            "stem": "Where do you keep milk cold?",
            "choices": [{"label": "A", "text": "fridge"}, {"label": "B", "text": "oven"}, {"label": "C", "text": "moon"}],
        },
    }
    data.write_text(json.dumps(record) + "\n")
    args = ["ground", "--kg", str(kg_dir), "--data", str(data), "-o", str(tmp_path / "out"),
            "--lemmatizer", "rule", "--cache-dir", str(tmp_path / "cache"), "-q"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "examples: 1, choices: 3",
        "choices with >=1 question and >=1 answer entity: 2/3 (66.7%)",
        "QA graphs: nodes mean 2.7 max 3, edges mean 1.3 max 4",  # 4 = milk-fridge, fridge-cold both ways
    ]
    assert out[3].startswith("grounded and extracted in ")
    loaded = GroundedDataset.load(tmp_path / "out")
    assert [(c.question_entities, c.answer_entities) for c in loaded.grounded[0]] == [
        ([0, 1], [2]),
        ([0, 1], [3]),
        ([0, 1], []),
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[3].startswith("read from cache in ")


def test_ground_missing_file_is_a_clean_error(kg_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ground", "--kg", str(kg_dir), "--data", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o"),
                 "--lemmatizer", "rule", "--no-cache", "-q"])  # fmt: skip
    assert code == 1
    assert "kglm: error:" in capsys.readouterr().err


def test_link_mode_qagnn(kg_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the QA-GNN rules link every overlapping pattern on lemmas of the lower-cased text
    assert main(["link", "--kg", str(kg_dir), "--lemmatizer", "rule", "--mode", "qagnn", "--json", "Cold milk"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(m["text"], m["entity"]) for m in out] == [("Cold", "cold"), ("milk", "milk")]
    meta = json.loads((kg_dir / "extras" / "linker-qagnn" / "meta.json").read_text())
    assert meta["settings"]["mode"] == "qagnn"
