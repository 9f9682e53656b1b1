"""Reference integrator: the published cell equations solved with scipy (tight tolerances).

Independent of NEURON: it evaluates :func:`celegans.channels.kinetics.derivatives` with numpy and
integrates with an implicit adaptive solver, restarting at each discontinuity of the injected
current. Tests compare the NEURON traces against it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.integrate import solve_ivp

from celegans.cells import CellSpec
from celegans.channels import kinetics as K
from celegans.protocols import CurrentClamp

__all__ = ["simulate_current_clamp_reference"]


def _rhs_factory(cell: CellSpec, names: list[str], vals: Mapping[str, float], n_sweeps: int):
    C = vals["C_pF"]
    prepared = K.prepare(cell, vals)
    n_vars = len(names) + 1

    def rhs(t: float, y: np.ndarray, i_inj: np.ndarray) -> np.ndarray:
        # y: (n_vars * n_sweeps,) or (n_vars * n_sweeps, k) when solve_ivp vectorizes
        shape = y.shape
        Y = y.reshape((n_vars, n_sweeps) + shape[1:])
        V = Y[0]
        if len(shape) > 1:
            i_inj = i_inj[:, None]
        state = {n: Y[j + 1] for j, n in enumerate(names)}
        d, i_ion = K.derivatives(cell, state, V, np, prepared=prepared)
        out = np.empty_like(Y)
        out[0] = (i_inj - i_ion) / C
        for j, n in enumerate(names):
            out[j + 1] = d[n]
        return out.reshape(shape)

    return rhs


def simulate_current_clamp_reference(
    cell: CellSpec,
    protocol: CurrentClamp,
    dt_ms: float = 0.025,
    values: Mapping[str, float] | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "BDF",
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate a current-clamp protocol; return ``(time_ms (n_t,), V_mV (n_sweeps, n_t))``.

    The cell starts at ``v_init`` with every gate at steady state (as NEURON's INITIAL blocks);
    samples are at ``k * dt_ms`` for ``k = 0 .. duration/dt``. The step is on for
    ``t_on <= t < t_off``. All sweeps are integrated together as one system (same error
    control), restarting the solver at the step's onset and offset.
    """
    vals = dict(cell.with_values(values).values) if values else dict(cell.values)
    names = K.state_names(cell)
    n_sw = protocol.n_sweeps
    n = int(round(protocol.duration_ms / dt_ms))
    t_eval = np.arange(n + 1) * dt_ms
    rhs = _rhs_factory(cell, names, vals, n_sw)
    v0 = np.full(n_sw, float(vals["v_init"]))
    s0 = K.initial_state(cell, v0, np, vals)
    y = np.stack([v0] + [np.broadcast_to(s0[k], (n_sw,)) for k in names]).astype(float).ravel()
    amps = np.asarray(protocol.amplitudes_pA, dtype=float)
    bounds = [0.0, protocol.t_on_ms, protocol.t_off_ms, protocol.duration_ms]
    out = np.full((n_sw, n + 1), np.nan)
    for k, on in enumerate((0.0, 1.0, 0.0)):
        a, b = bounds[k], bounds[k + 1]
        if b <= a:
            continue
        i_inj = protocol.holding_pA + on * amps
        last = k == 2 or b >= protocol.duration_ms
        sel = (t_eval >= a) & ((t_eval <= b) if last else (t_eval < b))
        te = t_eval[sel]
        if te.size == 0 or te[-1] < b:
            te = np.append(te, b)
        sol = solve_ivp(rhs, (a, b), y, method=method, t_eval=te, args=(i_inj,),
                        rtol=rtol, atol=atol, vectorized=method in ("BDF", "Radau"))
        if not sol.success:
            raise RuntimeError(f"reference integration failed for {cell.name}: {sol.message}")
        Y = sol.y.reshape(len(names) + 1, n_sw, -1)
        out[:, sel] = Y[0, :, : int(sel.sum())]
        y = sol.y[:, -1]
    return t_eval, out
