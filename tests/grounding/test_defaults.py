"""One default for each KagNet path setting: TrainingConfig, FeatureConfig, find_paths, the cache and the CLI agree."""

from __future__ import annotations

import argparse
import inspect

from kglm.grounding.defaults import DEFAULT_MAX_HOPS, DEFAULT_MAX_PATHS_PER_PAIR


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def test_path_search_defaults_agree_everywhere():
    from kglm.cli import ground
    from kglm.datasets.features import FeatureConfig
    from kglm.grounding.cache import build_grounded_dataset
    from kglm.grounding.paths import find_paths, find_paths_batch
    from kglm.training.config import TrainingConfig

    config, features = TrainingConfig(), FeatureConfig()
    hops = {config.max_path_hops, features.max_path_hops, _default(find_paths, "max_hops"),
            _default(find_paths_batch, "max_hops"), _default(build_grounded_dataset, "max_hops")}
    paths = {config.max_paths_per_pair, features.max_paths_per_pair, _default(find_paths, "max_paths_per_pair"),
             _default(find_paths_batch, "max_paths_per_pair"), _default(build_grounded_dataset, "max_paths_per_pair")}
    assert hops == {DEFAULT_MAX_HOPS} and paths == {DEFAULT_MAX_PATHS_PER_PAIR}
    parser = argparse.ArgumentParser()
    ground.register(parser.add_subparsers())
    cli = {a.dest: a.default for sub in parser._subparsers._group_actions[0].choices.values() for a in sub._actions}
    assert (cli["max_hops"], cli["max_paths"]) == (DEFAULT_MAX_HOPS, DEFAULT_MAX_PATHS_PER_PAIR)


def test_qa_graph_defaults_agree_everywhere():
    from kglm.cli import ground
    from kglm.datasets.features import FeatureConfig
    from kglm.grounding.cache import build_grounded_dataset
    from kglm.grounding.defaults import DEFAULT_MAX_NODES, DEFAULT_QA_HOPS
    from kglm.grounding.graphs import extract_qa_subgraph, extract_qa_subgraphs

    from kglm.training.config import TrainingConfig

    functions = (extract_qa_subgraph, extract_qa_subgraphs, build_grounded_dataset)
    features = FeatureConfig()
    nodes = {TrainingConfig().max_nodes, features.max_nodes, *(_default(f, "max_nodes") for f in functions)}
    assert nodes == {DEFAULT_MAX_NODES}
    assert {features.hops, *(_default(f, "hops") for f in functions)} == {DEFAULT_QA_HOPS}
    parser = argparse.ArgumentParser()
    ground.register(parser.add_subparsers())
    cli = {a.dest: a.default for sub in parser._subparsers._group_actions[0].choices.values() for a in sub._actions}
    assert (cli["max_nodes"], cli["hops"]) == (DEFAULT_MAX_NODES, DEFAULT_QA_HOPS)
