"""Small shared helpers, each defined once: atomic writes and compressed input
(:mod:`kglm.utils.io`), the cache directory (:mod:`kglm.utils.paths`), pinned
file checksums verified once (:mod:`kglm.utils.checksums`) and the machine
description recorded in results (:mod:`kglm.utils.machine`)."""
