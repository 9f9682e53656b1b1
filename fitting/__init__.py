"""Hierarchical fitting: Level 1 (single neurons), Level 2 (network vs behaviour), surrogates.

Level 1 (:mod:`fitting.level1`): ``fit_neuron(target, model, ...)`` fits a single-neuron model to
a recording (NPZ/CSV/NWB with its protocol) or a synthetic target; the optimiser sees only an
:class:`fitting.evaluator.Evaluator` with an injected executor (batched / process pool / Dask).
"""

from typing import Any

__all__ = ["fit_neuron"]


def fit_neuron(*args: Any, **kwargs: Any) -> Any:
    """See :func:`fitting.level1.fit_neuron` (imported lazily: pymoo loads on first use)."""
    from fitting.level1 import fit_neuron as _fit

    return _fit(*args, **kwargs)
