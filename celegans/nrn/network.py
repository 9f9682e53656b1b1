"""NEURON backend for :class:`celegans.network.NetworkSpec`.

One section (or multicompartment cell) per neuron built by its assigned model, one passive
section per body-wall muscle with the activation mechanism ``ce_mact``, one ``CeGradedSyn`` per
chemical (pre, post) pair and per neuron -> muscle pair, and two ``CeGap`` per gap pair. The
synaptic activation ``s`` depends only on the presynaptic voltage (``tau``, ``V_th``, ``Delta``
are shared), so it is integrated once per presynaptic neuron (``ce_synout`` on its soma) and read
by each of its synapses. Synapses and gap junctions read ``s`` / the partner's voltage through
ParallelContext ``source_var``/``target_var`` (thread safe, no POINTER), once per time step.
Integration: fixed step (cvode off), ``h.finitialize`` once per run, ``pc.psolve``.

Only one :class:`NrnNetwork` can be live in a process at a time (NEURON's transfer table is
global); building a new one clears the previous one's transfers.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from celegans.models import get_model
from celegans.models.base import NrnCell
from celegans.models.reduced import leaky_section
from celegans.network.spec import NetworkError, NetworkSpec
from celegans.protocols import CurrentClamp, TraceResult, n_steps

_LIVE: list[Any] = []  # weak references to the live network (one at a time)
_GENERATION = [0]  # bumped per network; a dying network clears transfers only if still current


def _on_network_freed(generation: int) -> None:
    if _GENERATION[0] == generation:
        from neuron import h

        h.ParallelContext().gid_clear()
        _LIVE.clear()


def release_transfers() -> None:
    """Forget the voltage transfers of any previous network (NEURON's table is global) and mark
    that network dead; call before building other NEURON models in this process."""
    from neuron import h

    for ref in _LIVE:
        old = ref()
        if old is not None:
            old._alive = False
    _LIVE.clear()
    _GENERATION[0] += 1
    h.ParallelContext().gid_clear()


def _h() -> Any:
    from neuron import h

    from celegans.nrn.mechanisms import load_mechanisms

    load_mechanisms()
    h.load_file("stdrun.hoc")
    return h


def v_init_of(model: str, params: Mapping[str, float], cell: NrnCell) -> float:
    """Initial membrane potential of a cell: its leak reversal (or the cell's own v_init)."""
    for key in ("v_init", "E_L", "e_leak", "E_leak"):
        if key in params:
            return float(params[key])
    hh = cell.keep.get("hh")
    for attr in ("v_init", "v_init_mV"):
        if hh is not None and hasattr(hh, attr):
            return float(getattr(hh, attr))
    return -65.0


class NrnNetwork:
    """A :class:`NetworkSpec` instantiated in NEURON, with the stepping interface.

    >>> net = NrnNetwork(spec, dt_ms=0.025)
    >>> net.reset(); net.advance(1.0, inputs_pA); net.voltages(); net.muscle_activation()
    """

    def __init__(self, spec: NetworkSpec, dt_ms: float = 0.025, nthread: int = 1) -> None:
        if not isinstance(spec, NetworkSpec):
            raise NetworkError(f"expected a NetworkSpec, got {type(spec).__name__}")
        if not (dt_ms > 0 and math.isfinite(dt_ms)):
            raise NetworkError(f"dt_ms: must be > 0, got {dt_ms}")
        h = _h()
        self.h = h
        self.spec = spec
        self.dt_ms = float(dt_ms)
        release_transfers()
        self.pc = h.ParallelContext()
        self.pc.gid_clear()
        self._alive = True
        self.cells: list[NrnCell] = []
        self.v_init = np.zeros(spec.n_neurons)
        for i, (name, asg) in enumerate(zip(spec.neurons, spec.models, strict=True)):
            cell = get_model(asg.model).build_nrn(asg.params, name, dt_ms=dt_ms, **asg.options)
            self.cells.append(cell)
            self.v_init[i] = v_init_of(asg.model, asg.params, cell)
            self.pc.source_var(cell.soma(0.5)._ref_v, i, sec=cell.soma)
        # presynaptic activation s, one state per neuron that has outgoing graded synapses
        syn = spec.synapse_params
        n = spec.n_neurons
        self._syn_sgid_offset = n
        for i in sorted(set(spec.chem_pre.tolist()) | set(spec.nmj_pre.tolist())):
            soma = self.cells[i].soma
            soma.insert("ce_synout")
            mech = soma(0.5).ce_synout
            mech.vth = syn["V_th"]
            mech.delta = syn["Delta"]
            mech.tau = syn["tau"]
            self.pc.source_var(mech._ref_s, n + i, sec=soma)
        # muscles
        mp = spec.muscle_params
        self.muscle_secs = []
        for name in spec.muscles:
            sec = leaky_section(name, mp)
            sec.insert("ce_mact")
            sec(0.5).ce_mact.vrest = mp["V_rest"]
            sec(0.5).ce_mact.vsat = mp["V_sat"]
            sec(0.5).ce_mact.tau = mp["tau_act"]
            self.muscle_secs.append(sec)
        # synapses: one point process per pair
        self.chem: list[Any] = []
        for a, b, g, e in zip(spec.chem_pre, spec.chem_post, spec.chem_g, spec.chem_E,
                              strict=True):
            self.chem.append(self._graded(self.cells[b].soma, int(a), g, e))
        self.nmj: list[Any] = []
        for a, m, g, e in zip(spec.nmj_pre, spec.nmj_muscle, spec.nmj_g, spec.nmj_E,
                              strict=True):
            self.nmj.append(self._graded(self.muscle_secs[m], int(a), g, e))
        self.gaps: list[Any] = []
        for a, b, g in zip(spec.gap_a, spec.gap_b, spec.gap_g, strict=True):
            for x, y in ((int(a), int(b)), (int(b), int(a))):
                pp = h.CeGap(self.cells[x].soma(0.5))
                pp.g = float(g)
                self.pc.target_var(pp, pp._ref_vgap, y)
                self.gaps.append(pp)
        # injected currents (pA in the API, nA in NEURON), one IClamp per neuron
        self.iclamps = []
        for cell in self.cells:
            ic = h.IClamp(cell.soma(0.5))
            ic.delay = 0.0
            ic.dur = 1e12
            ic.amp = 0.0
            self.iclamps.append(ic)
        self._amp_ptr = h.PtrVector(len(self.iclamps))
        for i, ic in enumerate(self.iclamps):
            self._amp_ptr.pset(i, ic._ref_amp)
        self._v_ptr = h.PtrVector(spec.n_neurons)
        for i, cell in enumerate(self.cells):
            self._v_ptr.pset(i, cell.soma(0.5)._ref_v)
        self._a_ptr = h.PtrVector(max(len(self.muscle_secs), 1))
        for i, sec in enumerate(self.muscle_secs):
            self._a_ptr.pset(i, sec(0.5).ce_mact._ref_a)
        self._buf_n = h.Vector(spec.n_neurons)
        self._buf_m = h.Vector(max(len(self.muscle_secs), 1))
        if nthread > 1:
            self.pc.nthread(int(nthread))
        self.pc.setup_transfer()
        self.pc.set_maxstep(10.0)  # no NetCons: lets psolve take its fixed steps
        _LIVE.append(weakref.ref(self))
        _GENERATION[0] += 1
        weakref.finalize(self, _on_network_freed, _GENERATION[0])
        self._initialized = False

    def _graded(self, sec: Any, pre: int, g: float, e: float) -> Any:
        pp = self.h.CeGradedSyn(sec(0.5))
        pp.g = float(g)
        pp.esyn = float(e)
        self.pc.target_var(pp, pp._ref_spre, self._syn_sgid_offset + pre)
        return pp

    # --- stepping interface ---------------------------------------------------------------------
    def _check(self) -> None:
        if not self._alive:
            raise RuntimeError("this NrnNetwork was superseded by a newer one in this process")

    def reset(self) -> None:
        """Initial state: every neuron at its v_init, synapses at steady state, t = 0."""
        self._check()
        h = self.h
        h.cvode.active(0)
        h.dt = self.dt_ms
        h.secondorder = 0
        for cell, v0 in zip(self.cells, self.v_init, strict=True):
            for sec in cell.sections:
                for seg in sec:
                    seg.v = v0
        for sec in self.muscle_secs:
            sec(0.5).v = self.spec.muscle_params["E_L"]
        self.set_inputs(None)
        h.finitialize()
        # the transfer runs before INITIAL blocks: a second pass hands every synapse the
        # initialised presynaptic s (states are re-initialised to the same values)
        h.finitialize()
        self._initialized = True

    @property
    def t_ms(self) -> float:
        return float(self.h.t)

    def set_inputs(self, inputs_pA: np.ndarray | None) -> None:
        """Hold injected currents (pA, one per neuron) constant from now on."""
        n = self.spec.n_neurons
        if inputs_pA is None:
            amps = np.zeros(n)
        else:
            amps = np.asarray(inputs_pA, dtype=float)
            if amps.shape != (n,):
                raise NetworkError(f"inputs_pA: expected shape ({n},), got {amps.shape}")
            if not np.all(np.isfinite(amps)):
                raise NetworkError("inputs_pA: values must be finite")
        self._buf_n.from_python(amps * 1e-3)
        self._amp_ptr.scatter(self._buf_n)

    def advance(self, until_ms: float, inputs_pA: np.ndarray | None = None) -> None:
        """Integrate to ``until_ms`` with ``inputs_pA`` (per neuron) held constant."""
        self._check()
        if not self._initialized:
            self.reset()
        if inputs_pA is not None:
            self.set_inputs(inputs_pA)
        if until_ms < self.h.t - 1e-9:
            raise NetworkError(f"advance: until_ms {until_ms} is before t = {self.h.t}")
        self.pc.psolve(float(until_ms))

    def voltages(self) -> np.ndarray:
        """Soma voltages (mV), neuron order."""
        self._v_ptr.gather(self._buf_n)
        return self._buf_n.as_numpy().copy()

    def muscle_activation(self) -> np.ndarray:
        """Activation in [0, 1] per body-wall muscle, named order."""
        if not self.muscle_secs:
            return np.zeros(0)
        self._a_ptr.gather(self._buf_m)
        return self._buf_m.as_numpy().copy()

    def muscle_voltages(self) -> np.ndarray:
        return np.array([sec(0.5).v for sec in self.muscle_secs])

    # --- recording ------------------------------------------------------------------------------
    def ref(self, name: str, var: str) -> Any | None:
        """Pointer to ``var`` of ``name``, or None where it does not exist.

        ``name`` is a neuron (``v`` and its model's states), a muscle (``v``; ``a`` activation)
        or a synapse ``"PRE->POST"`` (chemical or neuromuscular; ``s`` activation, ``i``
        current in nA, outward positive)."""
        if "->" in name:
            pp = self._synapse(name)
            if var == "s":
                return pp._ref_spre
            if var == "i":
                return pp._ref_i
            return None
        if name in self._muscle_index:
            seg = self.muscle_secs[self._muscle_index[name]](0.5)
            if var == "v":
                return seg._ref_v
            if var in ("a", "activation"):
                return seg.ce_mact._ref_a
            return None
        try:
            return self.cells[self.spec.index(name)].ref(var)
        except ValueError:
            return None

    def _synapse(self, name: str) -> Any:
        pre, _, post = name.partition("->")
        a = self.spec.index(pre.strip())
        post = post.strip()
        if post in self._muscle_index:
            m = self._muscle_index[post]
            hits = np.flatnonzero((self.spec.nmj_pre == a) & (self.spec.nmj_muscle == m))
            pool = self.nmj
        else:
            b = self.spec.index(post)
            hits = np.flatnonzero((self.spec.chem_pre == a) & (self.spec.chem_post == b))
            pool = self.chem
        if len(hits) == 0:
            raise NetworkError(f"no synapse {name!r} in this network")
        return pool[int(hits[0])]

    @property
    def _muscle_index(self) -> dict[str, int]:
        return {m: i for i, m in enumerate(self.spec.muscles)}


def _input_array(value: Any, name: str, nt: int, dt_ms: float) -> np.ndarray:
    """Injected current (pA) per step for one neuron from a scalar, per-step array or a
    one-sweep :class:`CurrentClamp`."""
    t = np.arange(nt) * dt_ms
    if isinstance(value, CurrentClamp):
        if value.n_sweeps != 1:
            raise NetworkError(f"inputs[{name!r}]: a network input clamp needs one sweep")
        return value.current_at(t)[0]
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        out = np.full(nt, float(arr))
    elif arr.shape == (nt,):
        out = arr
    else:
        raise NetworkError(f"inputs[{name!r}]: expected a number, a CurrentClamp or an array of "
                           f"{nt} per-step values (pA), got shape {arr.shape}")
    if not np.all(np.isfinite(out)):
        raise NetworkError(f"inputs[{name!r}]: values must be finite")
    return out


def simulate_network_nrn(spec: NetworkSpec, duration_ms: float, *, dt_ms: float = 0.025,
                         inputs: Mapping[str, Any] | None = None,
                         record: Sequence[str] = ("v",), record_cells: Sequence[str] | None = None,
                         record_dt_ms: float | None = None, nthread: int = 1) -> TraceResult:
    """Run ``spec`` for ``duration_ms`` with fixed step ``dt_ms``.

    Args:
        inputs: ``{neuron: pA}`` with a constant, a per-step array of ``duration/dt`` values or a
            one-sweep :class:`CurrentClamp`.
        record: variables (``v``; ``a`` muscle activation; model states such as ``w``, ``I1``).
            A variable a cell lacks is NaN for that cell.
        record_cells: neurons, muscles and synapses (``"PRE->POST"``: ``s``, ``i``) to record
            (default: all neurons then all muscles).
        record_dt_ms: sampling interval (default ``dt_ms``).
        nthread: NEURON threads (experimental: with more than one thread the voltage transfer
            order differs and traces deviate slightly, ~0.03 mV transients, from 1 thread).

    Returns:
        TraceResult with ``data[var]`` of shape ``(1, n_cells, n_time)`` (one sweep),
        ``names`` the recorded cells, ``time_ms`` from 0 to ``duration_ms``.
    """
    nt = n_steps(duration_ms, dt_ms)
    rdt = dt_ms if record_dt_ms is None else float(record_dt_ms)
    if rdt <= 0 or abs(rdt / dt_ms - round(rdt / dt_ms)) > 1e-6:
        raise NetworkError(f"record_dt_ms: must be a positive multiple of dt_ms ({dt_ms})")
    names = (list(spec.neurons) + list(spec.muscles)) if record_cells is None \
        else list(record_cells)
    known = set(spec.neurons) | set(spec.muscles)
    bad = [n for n in names if n not in known and "->" not in n]
    if bad:
        raise NetworkError(f"record_cells: unknown cells {bad[:5]}")
    drive = {spec.index(name): _input_array(value, name, nt, dt_ms)
             for name, value in (inputs or {}).items()}  # checked before the (slow) build
    net = NrnNetwork(spec, dt_ms=dt_ms, nthread=nthread)
    h = net.h
    vecs: dict[str, list[Any]] = {}
    refs: dict[str, list[Any]] = {}
    for var in record:
        row, rrow = [], []
        for n in names:
            ref = net.ref(n, var)
            rrow.append(ref)
            if ref is None:
                row.append(None)
            else:
                row.append(h.Vector().record(ref, rdt))
        refs[var] = rrow
        if all(v is None for v in row):
            raise NetworkError(f"record: no cell has variable {var!r}")
        vecs[var] = row
    players = []
    for i, arr in drive.items():
        vec = h.Vector(np.append(arr, arr[-1]) * 1e-3)
        vec.play(net.iclamps[i]._ref_amp, dt_ms)
        players.append(vec)
    net.reset()
    net.pc.psolve(nt * dt_ms)
    n_rec = int(round(nt * dt_ms / rdt)) + 1
    data = {}
    failed = False
    for var, row in vecs.items():
        arr = np.full((1, len(names), n_rec), np.nan)
        for j, vec in enumerate(row):
            if vec is not None:
                x = vec.as_numpy()[:n_rec]
                arr[0, j, : len(x)] = x
                if len(x) == n_rec - 1:  # the sample at t_end (rounding of t): current value
                    arr[0, j, -1] = refs[var][j][0]
        data[var] = arr
        if "v" == var and not np.all(np.isfinite(arr)):
            failed = True
    time = np.arange(n_rec) * rdt
    return TraceResult(time_ms=time, names=names, data=data, failed=np.array(failed))
