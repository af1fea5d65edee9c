"""kglm.bench."""
