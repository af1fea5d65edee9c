"""Drawing a choice graph lives in kglm.training.drawing; Predictor.draw and the old import paths use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kglm.grounding.graphs import ChoiceGraph
from kglm.kg.graph import KnowledgeGraph

pytest.importorskip("matplotlib")


def _graph(nodes: list[int], types: list[int], edges: list[tuple[int, int, int]]) -> ChoiceGraph:
    e = torch.tensor(edges, dtype=torch.long).reshape(-1, 3)
    return ChoiceGraph(torch.tensor(nodes, dtype=torch.long), torch.tensor(types, dtype=torch.long),
                       e[:, :2].T.contiguous(), e[:, 2])


def test_draw_choice_graph_writes_a_png(tmp_path: Path) -> None:
    from kglm.training.drawing import draw_choice_graph

    kg = KnowledgeGraph.from_triples([("milk", "AtLocation", "fridge"), ("fridge", "IsA", "appliance")])
    ids = [kg.entity_id(name) for name in ("milk", "fridge", "appliance")]
    graph = _graph(ids, [0, 1, 2], [(0, 1, 0), (1, 2, 1)])
    out = draw_choice_graph(kg, graph, tmp_path / "sub" / "g.png", torch.tensor([0.2, 0.5, 0.3]), title="milk?")
    assert out == tmp_path / "sub" / "g.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    nothing = draw_choice_graph(kg, _graph([ids[2]], [2], []), tmp_path / "none.png")
    assert nothing.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_old_import_paths_name_the_same_function() -> None:
    import kglm.training
    from kglm.training import drawing, predict

    assert predict.draw_choice_graph is drawing.draw_choice_graph is kglm.training.draw_choice_graph
