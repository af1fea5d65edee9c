"""kglm.training."""
