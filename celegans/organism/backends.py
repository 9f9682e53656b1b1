"""Network backends behind the organism loop (stepping interface of docs/architecture.md):
``reset()``, ``advance(until_ms, inputs_pA)``, ``voltages()``, ``muscle_activation()``."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from celegans.organism.errors import OrganismError

BACKENDS = ("neuron", "torch")


class SteppingNetwork(Protocol):
    def reset(self) -> None: ...

    def advance(self, until_ms: float, inputs_pA: np.ndarray | None = None) -> None: ...

    def voltages(self) -> np.ndarray: ...

    def muscle_activation(self) -> np.ndarray: ...


def make_network(spec: Any, backend: str, dt_ms: float) -> Any:
    """Instantiate ``spec`` on ``backend`` (``neuron`` or ``torch``) with step ``dt_ms``."""
    if backend == "neuron":
        from celegans.nrn.network import NrnNetwork

        return NrnNetwork(spec, dt_ms=dt_ms)
    if backend == "torch":
        try:
            from celegans.torchsim import network as tnet
        except ImportError:
            raise OrganismError("backend 'torch': the torch network backend "
                                "(celegans.torchsim.network) is not available in this "
                                "installation yet; use --backend neuron") from None
        cls = getattr(tnet, "TorchNetwork", None)
        if cls is not None:
            # one worm, small sparse matrices: the CPU beats a GPU's kernel-launch latency, and
            # one thread beats several (at batch 1 threads only contend, badly on a busy
            # machine). Networks of hh, Morris-Lecar and passive cells (the default network)
            # run in the native kernel (an exchange costs microseconds besides its steps);
            # others get their step compiled (inductor) now, at build time: ~0.1 ms per
            # exchange instead of ~0.5 ms eagerly.
            net = cls(spec, dt_ms=dt_ms, device="cpu", compile=True, threads=1)
            net.prepare(1)  # the default loop: one neural step per exchange
            return net
        raise OrganismError("backend 'torch': celegans.torchsim.network has no stepping "
                            "network class (TorchNetwork)")
    raise OrganismError(f"backend: unknown {backend!r}; expected one of {BACKENDS}")


def network_time_ms(net: Any) -> float | None:
    """The backend's own clock (ms) where it exposes one."""
    for attr in ("t_ms", "time_ms", "t"):
        v = getattr(net, attr, None)
        if isinstance(v, int | float):
            return float(v)
    return None
