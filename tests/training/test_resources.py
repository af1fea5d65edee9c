"""kglm.training.resources: the linker build follows the run's progress setting."""

from __future__ import annotations

import pytest

from kglm.kg.graph import KnowledgeGraph
from kglm.training import resources


def _kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples([("ice_cream", "AtLocation", "freezer"), ("dog", "CapableOf", "bark")])


@pytest.mark.parametrize("show", [True, False])
def test_make_linker_shows_the_lemmatizing_bar_only_when_asked(show: bool, capsys: pytest.CaptureFixture[str]) -> None:
    linker = resources.make_linker(_kg(), show_progress=show)
    assert [m.entity for m in linker("the dog is in the freezer")] == ["dog", "freezer"]
    err = capsys.readouterr().err
    assert ("lemmatizing labels" in err) is show


def test_a_quiet_run_builds_its_saved_linker_index_without_a_bar(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    kg = _kg()
    kg.save(tmp_path / "kg")
    resources.make_linker(kg, tmp_path / "kg", show_progress=False)  # builds and saves the index
    assert "lemmatizing labels" not in capsys.readouterr().err
    assert (tmp_path / "kg" / "extras").is_dir()
    linker = resources.make_linker(kg, tmp_path / "kg", show_progress=True)  # loads it: nothing to lemmatize
    assert "lemmatizing labels" not in capsys.readouterr().err
    assert [m.entity for m in linker("the dog is in the freezer")] == ["dog", "freezer"]
