"""kglm.datasets."""
