"""Torch backend: batched, differentiable single-compartment cells and networks.

* :func:`celegans.torchsim.cell.simulate_cell_torch` — registry models (``passive``,
  ``morris_lecar``, ``glif``, ``hh`` with any cell of :mod:`celegans.cells`, e.g. ``HH1952``)
  for B parameter sets x all sweeps at once; same result layout as the NEURON backend.
* :class:`celegans.torchsim.network.TorchNetwork` / ``simulate_network_torch`` — a
  :class:`celegans.network.NetworkSpec` (302 neurons + 95 muscles) with the stepping interface.
* :func:`celegans.torchsim.gradfit.fit_adam` — Adam through autograd in the unconstrained
  parameter space.

The integrator reproduces NEURON's fixed-step scheme (linearised backward Euler for V, exponential
Euler for gates at the new V), so traces agree with the NEURON backend to ~1e-6 mV at equal dt.
Without gradients on CPU in float64, ``hh`` cells and networks of ``hh``, Morris-Lecar and
passive cells run in a native kernel (:mod:`celegans.torchsim.native_hh`,
:mod:`celegans.torchsim.native_network`; built on first use, the same arithmetic; ``native=False``
for the torch step). Otherwise ``compile=True`` runs chunks of steps through compiled torch
kernels (first call compiles, cached on disk). ``device="auto"`` picks CUDA when available.
"""

from celegans.torchsim.device import TorchSimError, UnstableStepError, resolve_device

__all__ = ["TorchSimError", "UnstableStepError", "resolve_device"]
