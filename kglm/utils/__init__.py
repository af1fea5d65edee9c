"""Small shared helpers, each defined once: atomic writes and compressed input
(:mod:`kglm.utils.io`), the cache directory (:mod:`kglm.utils.paths`) and the
machine description recorded in results (:mod:`kglm.utils.machine`)."""
