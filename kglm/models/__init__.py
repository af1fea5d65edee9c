"""kglm.models."""
