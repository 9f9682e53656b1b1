"""Torch network of single-compartment neurons, graded synapses, gap junctions and muscles.

Equations of docs/architecture.md, integrated with NEURON's fixed-step scheme so traces match
:mod:`celegans.nrn.network`:

* each neuron: its registry model (kernels of :mod:`celegans.torchsim.models`), neurons with the
  same model label form one group (contiguous slice of the state);
* graded synapse (pre -> post): ``I = g s (V_post - E_syn)``; all synapses of one presynaptic
  neuron share ``V_th, Δ, τ``, so ``s`` is one state per presynaptic neuron and the currents are
  two dense matmuls ``(s) @ W`` and ``(s E) @ W``; ``s`` steps with ``V_pre`` of the step start
  (NEURON transfers ``vpre`` once per step);
* gap junction: ``I_a = Σ_b g_ab (V_b - V_a)`` with the partner's voltage from the step start
  and the own voltage implicit (as NEURON's ``CeGap`` with a transferred ``vgap``);
* body-wall muscles: passive cells with neuron -> muscle graded synapses; activation
  ``da/dt = (clip((V-V_rest)/(V_sat-V_rest), 0, 1) - a)/τ_act``.

The voltage update is semi-implicit in every cell's own voltage (unconditionally stable).
``B`` independent copies (e.g. different inputs) run at once. :class:`TorchNetwork` has the
stepping interface (``reset``, ``advance``, ``voltages``, ``muscle_activation``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from celegans.protocols import CurrentClamp, TraceResult, n_steps
from celegans.torchsim import native_hh
from celegans.torchsim.device import (
    TorchSimError,
    flush_denormals,
    resolve_device,
    resolve_dtype,
)
from celegans.torchsim.models import HHCellTorch, TorchModel, torch_model
from celegans.torchsim.network_compiled import CompiledRunner, failed_mask, failed_rows

Tensor = torch.Tensor


def _v_init(params: Mapping[str, float]) -> float:
    for key in ("v_init", "E_L", "e_leak", "E_leak"):
        if key in params:
            return float(params[key])
    return -65.0


class _Group:
    """Neurons that share one model kernel: slice ``[a, b)`` of the permuted state."""

    def __init__(self, label: str, kernel: TorchModel, a: int, b: int, p: dict[str, Any]):
        self.label, self.kernel, self.a, self.b, self.p = label, kernel, a, b, p


class TorchNetwork:
    """A :class:`celegans.network.NetworkSpec` in torch with the stepping interface.

    >>> net = TorchNetwork(spec, dt_ms=0.025)
    >>> net.reset(); net.advance(1.0, inputs_pA); net.voltages(); net.muscle_activation()

    Args:
        spec: the network; ``dt_ms``: fixed step; ``batch``: independent copies.
        compile: run the steps through inductor-compiled chunks of up to ``chunk`` steps
            (default 20; 2 when the network has ``hh`` cells), see
            :mod:`celegans.torchsim.network_compiled`: same traces, ~5-10x faster at batch 1;
            compiles on first use or :meth:`prepare`; no autograd through it (inputs that
            require grad run eagerly).
        threads: torch intra-op threads while stepping (``None``: the process setting). One
            thread is fastest at batch 1; more threads on a busy machine are much slower.
        native: on CPU in float64, networks of ``hh``, Morris-Lecar and passive cells advance
            in the native kernel (:mod:`celegans.torchsim.native_network`: every step of an
            advance in one call, the same arithmetic; copies in parallel over ``threads``);
            then ``compile`` is not needed. ``False``: always the torch step.
    """

    def __init__(self, spec: Any, dt_ms: float = 0.025, *, batch: int = 1,
                 device: Any = "auto", dtype: Any = None, compile: bool = False,
                 chunk: int | None = None, threads: int | None = None,
                 native: bool = True) -> None:
        from celegans.models.hh import load_cell_spec

        if not (isinstance(dt_ms, int | float) and math.isfinite(dt_ms) and dt_ms > 0):
            raise TorchSimError(f"dt_ms: must be a positive finite number, got {dt_ms}")
        if int(batch) < 1:
            raise TorchSimError(f"batch: must be >= 1, got {batch}")
        self.spec = spec
        self.dt = float(dt_ms)
        self.B = int(batch)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        n = spec.n_neurons
        labels = [m.label for m in spec.models]
        order = sorted(range(n), key=lambda i: (labels[i], i))  # stable: groups contiguous
        self.perm = torch.as_tensor(order, device=self.device)
        self.inv = torch.empty_like(self.perm)
        self.inv[self.perm] = torch.arange(n, device=self.device)
        inv_np = self.inv.cpu().numpy()
        self.groups: list[_Group] = []
        kw = {"device": self.device, "dtype": self.dtype}
        start = 0
        max_dt = math.inf
        v0 = np.zeros(n)
        while start < n:
            lab = labels[order[start]]
            stop = start
            while stop < n and labels[order[stop]] == lab:
                stop += 1
            members = order[start:stop]
            asg = spec.models[members[0]]
            cell = None
            if asg.model == "hh":
                cell = load_cell_spec(asg.options.get("cell"))
            kernel = torch_model(asg.model, cell)
            max_dt = min(max_dt, kernel.max_dt_ms)
            p: dict[str, Any] = {}
            base = dict(cell.values) if cell is not None else {}
            names = set(base) | set(asg.params)
            for key in names:
                vals = np.array([spec.models[i].params.get(key, base.get(key, np.nan))
                                 for i in members], dtype=float)
                if np.all(vals == vals[0]):
                    p[key] = float(vals[0])
                else:
                    p[key] = torch.as_tensor(vals, **kw).reshape(1, -1)
            for j, i in enumerate(members):
                v0[start + j] = _v_init(spec.models[i].params)
            if asg.model == "glif" and bool(np.any(
                    np.asarray(torch.as_tensor(p["V_reset"]) >= torch.as_tensor(p["V_th"])))):
                raise TorchSimError(f"group {lab}: V_reset must be below V_th")
            if isinstance(kernel, HHCellTorch):  # the fused step (tables, channels at once)
                p = kernel.prepare(p, self.dt, self.device, self.dtype)
            self.groups.append(_Group(lab, kernel, start, stop, p))
            start = stop
        if self.dt > max_dt:
            raise TorchSimError(f"dt_ms = {self.dt} exceeds {max_dt} ms, the largest step at "
                                "which the network's neuron models are accurate")
        self.v_init = torch.as_tensor(v0, **kw)
        # connectivity in permuted order (dense: 302 x 302 is small)
        sp = spec.synapse_params
        self.syn_vth, self.syn_delta, self.syn_tau = sp["V_th"], sp["Delta"], sp["tau"]
        self._s_decay = math.exp(-self.dt / self.syn_tau)
        W = np.zeros((n, n))
        np.add.at(W, (inv_np[spec.chem_pre], inv_np[spec.chem_post]), spec.chem_g)
        E_pre = np.zeros(n)
        sv = spec.reversal_of(spec.sign_values())
        E_pre[inv_np] = sv
        # a presynaptic neuron has one sign, so E depends on the pre neuron only
        Wg = np.zeros((n, n))
        ga = inv_np[spec.gap_a]
        gb = inv_np[spec.gap_b]
        np.add.at(Wg, (ga, gb), spec.gap_g)
        np.add.at(Wg, (gb, ga), spec.gap_g)
        self.W = torch.as_tensor(W, **kw)
        self.E_pre = torch.as_tensor(E_pre, **kw)
        self.Wg = torch.as_tensor(Wg, **kw)
        self.Dg = self.Wg.sum(0)
        m = spec.n_muscles
        self.n_muscles = m
        mp = spec.muscle_params
        self.mp = mp
        Wm = np.zeros((n, m))
        if m:
            np.add.at(Wm, (inv_np[spec.nmj_pre], spec.nmj_muscle), spec.nmj_g)
        self.Wm = torch.as_tensor(Wm, **kw)
        # muscles are extra passive cells at the end of the state vector
        N = n + m
        self.N = N
        self.W_full = torch.as_tensor(np.concatenate([W, Wm], 1), **kw)
        Wg_full = np.zeros((N, N))
        Wg_full[:n, :n] = Wg
        self.Wg_full = torch.as_tensor(Wg_full, **kw)
        self.Dg_full = self.Wg_full.sum(0)
        self.has_gap = bool(np.any(Wg))
        # connectomes are sparse (~3 % of pairs): gather/scatter over the nonzero pairs
        self.syn_op = _PairSum(np.concatenate([W, Wm], 1), kw)
        self.gap_op = _PairSum(Wg_full, kw)
        if m:
            from celegans.torchsim.models import PassiveTorch

            self.groups.append(_Group("muscle", PassiveTorch(), n, N,
                                      {"g_L": float(mp["g_L"]), "E_L": float(mp["E_L"]),
                                       "C": float(mp["C"])}))
        caps = []
        for g in self.groups:
            c = g.kernel.capacitance(g.p)
            caps.append(torch.as_tensor(c, **kw).reshape(1, -1).expand(1, g.b - g.a))
        self.c_full = torch.cat(caps, 1)
        self._act_decay = math.exp(-self.dt / mp["tau_act"])
        self.t_ms = 0.0
        self._perm_np = self.perm.cpu().numpy()
        self._inputs = torch.zeros((self.B, N), **kw)
        self._inputs_np: np.ndarray | None = None  # numpy view of _inputs (CPU float64)
        if threads is not None and int(threads) < 1:
            raise TorchSimError(f"threads: must be >= 1 or None, got {threads}")
        self.threads = None if threads is None else int(threads)
        self._step_fn = _make_step_fn(self)
        self._runner = None
        self._native = None
        if native:
            from celegans.torchsim.native_network import NetworkRunner

            self._native = NetworkRunner.build(self)
        if compile and self._native is None:
            if chunk is None:
                # hh cells make large graphs: short chunks keep compile time and code size sane
                chunk = 2 if any(isinstance(g.kernel, HHCellTorch) for g in self.groups) else 20
            self._runner = CompiledRunner(self._step_fn, chunk=chunk)
        self.reset()

    # --- state -----------------------------------------------------------------------------------
    def _sinf(self, v: Tensor) -> Tensor:
        return torch.sigmoid((v - self.syn_vth) / self.syn_delta)

    def _target(self, v: Tensor) -> Tensor:
        r = (v - self.mp["V_rest"]) / (self.mp["V_sat"] - self.mp["V_rest"])
        return torch.clamp(r, 0.0, 1.0)

    def reset(self) -> None:
        """Every neuron at its v_init, gates and synapses at steady state, t = 0."""
        kw = {"device": self.device, "dtype": self.dtype}
        n = self.spec.n_neurons
        v = torch.cat([self.v_init, torch.full((self.n_muscles,), float(self.mp["E_L"]),
                                               **kw)]).expand(self.B, -1).clone()
        self.v = v
        self.states = [g.kernel.init(v[:, g.a:g.b], g.p) for g in self.groups]
        self.s = self._sinf(v[:, :n])
        self.act = self._target(v[:, n:])
        self.t_ms = 0.0
        self.failed = torch.zeros(self.B, dtype=torch.bool, device=self.device)

    @property
    def vm(self) -> Tensor:
        """Muscle voltages (B, M)."""
        return self.v[:, self.spec.n_neurons:]

    def _pad(self, i_ext: Tensor) -> Tensor:
        if i_ext.shape[-1] != self.N:
            i_ext = torch.cat([i_ext, i_ext.new_zeros(i_ext.shape[0], self.N - i_ext.shape[-1])],
                              1)
        return i_ext

    def step(self, i_ext: Tensor) -> None:
        """One step with injected currents ``i_ext`` (pA), shape (B, n) or (B, n + M) in
        permuted order."""
        self.v, self.states, self.s, self.act = self._step_fn(
            self.v, self.states, self.s, self.act, self._pad(i_ext))
        self.t_ms += self.dt

    def _steps(self, k: int, i_ext: Tensor) -> None:
        """``k`` steps with ``i_ext`` (B, N) held constant (compiled chunks when enabled)."""
        if k <= 0:
            return
        if self._native is not None and not i_ext.requires_grad:
            self._advance_native(k, i_ext, per_step=False)
            self._check_failed()
            return
        if self._runner is not None and not i_ext.requires_grad:
            self.v, self.states, self.s, self.act, self.failed = self._runner.run(
                k, (self.v, self.states, self.s, self.act, self.failed), i_ext)
            self.t_ms += k * self.dt
            return
        for _ in range(k):
            self.step(i_ext)
        self._check_failed()

    def _steps_drive(self, drive: Tensor) -> None:
        """``drive.shape[0]`` steps, step ``j`` with injected currents ``drive[j]`` (B, N)."""
        if self._native is not None and not drive.requires_grad:
            self._advance_native(drive.shape[0], drive, per_step=True)
            self._check_failed()
            return
        if self._runner is not None and not drive.requires_grad:
            self.v, self.states, self.s, self.act, self.failed = self._runner.run_drive(
                (self.v, self.states, self.s, self.act, self.failed), drive)
            self.t_ms += drive.shape[0] * self.dt
            return
        for j in range(drive.shape[0]):
            self.step(drive[j])
        self._check_failed()

    def _advance_native(self, k: int, i_ext: Tensor, per_step: bool,
                        record: tuple[int, Tensor, Tensor, int] | None = None) -> None:
        """``k`` steps in the native kernel (``i_ext`` held, or one row per step when
        ``per_step``; ``record`` as :meth:`~celegans.torchsim.native_network.NetworkRunner.run`)
        and the clock; the caller checks for failures."""
        self._native.run(self, k, i_ext, per_step, record=record)
        self.t_ms += k * self.dt

    def prepare(self, steps_per_advance: int = 1) -> None:
        """Compile now (``compile=True`` only) the chunks that ``advance`` over
        ``steps_per_advance`` steps will use, so that the first exchanges do not pay for it."""
        if self._runner is None:
            return
        with _threads(self.threads):
            for kk in sorted(set(self._runner.sizes(int(steps_per_advance)))):
                self._runner.prepare(kk, False, (self.v, self.states, self.s, self.act,
                                                 self.failed, self._inputs))

    # --- stepping interface -----------------------------------------------------------------
    def set_inputs(self, inputs_pA: Any) -> None:
        """Hold injected currents (pA) constant: shape (n,) or (B, n), neuron order."""
        n = self.spec.n_neurons
        if not isinstance(inputs_pA, Tensor):
            # numpy path: a few microseconds (the organism sets inputs every exchange)
            x = np.asarray(inputs_pA, dtype=float)
            if x.shape not in ((n,), (self.B, n)):
                raise TorchSimError(f"inputs_pA: expected shape ({n},) or ({self.B}, {n}), "
                                    f"got {tuple(x.shape)}")
            if not np.isfinite(x).all():
                raise TorchSimError("inputs_pA: values must be finite")
            if self._inputs_np is None:
                buf = np.zeros((self.B, self.N))
                self._inputs = torch.from_numpy(buf).to(device=self.device, dtype=self.dtype)
                if self._inputs.data_ptr() == buf.ctypes.data:
                    self._inputs_np = buf  # shared memory (CPU float64): write in place
            else:
                buf = self._inputs_np
            buf[:, :n] = x[..., self._perm_np]
            if self._inputs.data_ptr() != buf.ctypes.data:
                self._inputs = torch.from_numpy(buf).to(device=self.device, dtype=self.dtype)
            return
        x = inputs_pA.to(device=self.device, dtype=self.dtype)
        if x.shape not in ((n,), (self.B, n)):
            raise TorchSimError(f"inputs_pA: expected shape ({n},) or ({self.B}, {n}), "
                                f"got {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise TorchSimError("inputs_pA: values must be finite")
        x = x.expand(self.B, n)[:, self.perm]
        self._inputs = torch.cat([x, x.new_zeros(self.B, self.N - n)], 1)
        self._inputs_np = None

    def advance(self, until_ms: float, inputs_pA: Any = None) -> None:
        """Integrate to ``until_ms`` with ``inputs_pA`` (per neuron) held constant."""
        if inputs_pA is not None:
            self.set_inputs(inputs_pA)
        if until_ms < self.t_ms - 1e-9:
            raise TorchSimError(f"advance: until_ms {until_ms} is before t = {self.t_ms}")
        k = int(round((until_ms - self.t_ms) / self.dt))
        with flush_denormals(), _threads(self.threads):
            self._steps(k, self._inputs)

    def _check_failed(self) -> None:
        if self.v.device.type == "cpu":
            bad = failed_rows(self.v.detach().numpy())
            if bad.any():
                self.failed = self.failed | torch.from_numpy(bad)
            return
        with torch.no_grad():
            self.failed = self.failed | failed_mask(self.v)

    def voltages(self) -> np.ndarray:
        """Soma voltages (mV) in neuron order: (n,) for batch 1, else (B, n)."""
        v = self.v[:, :self.spec.n_neurons][:, self.inv].detach().cpu().numpy()
        return v[0] if self.B == 1 else v

    def muscle_activation(self) -> np.ndarray:
        """Activation in [0, 1] per body-wall muscle, named order: (95,) or (B, 95)."""
        a = self.act.detach().cpu().numpy().copy()  # the native path updates in place
        return a[0] if self.B == 1 else a

    def muscle_voltages(self) -> np.ndarray:
        m = self.vm.detach().cpu().numpy().copy()
        return m[0] if self.B == 1 else m


class _threads:
    """Context manager: run with ``n`` torch intra-op threads (None: leave as is)."""

    def __init__(self, n: int | None) -> None:
        self.n = n

    def __enter__(self) -> _threads:
        self.old = torch.get_num_threads()
        if self.n is not None and self.n != self.old:
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.n is not None and self.n != self.old:
            torch.set_num_threads(self.old)


def _make_step_fn(net: TorchNetwork) -> Any:
    """The network's step as a pure function ``(v, states, s, act, i_ext) -> (v, states, s,
    act)`` of tensors (all constants captured), shared by the eager and the compiled paths.

    ``i_ext``: injected currents (pA), shape (B, N) in permuted order (muscles: zero)."""
    dt = net.dt
    n = net.spec.n_neurons
    groups = list(net.groups)
    syn_op, gap_op = net.syn_op, net.gap_op
    E_pre, Dg, c_full = net.E_pre, net.Dg_full, net.c_full
    has_gap, n_m = net.has_gap, net.n_muscles
    s_decay, act_decay = net._s_decay, net._act_decay
    vth, delta = float(net.syn_vth), float(net.syn_delta)
    v_rest, v_sat = float(net.mp["V_rest"]), float(net.mp["V_sat"])

    def sinf_fn(x: Tensor) -> Tensor:
        return torch.sigmoid((x - vth) / delta)

    def target_fn(x: Tensor) -> Tensor:
        return torch.clamp((x - v_rest) / (v_sat - v_rest), 0.0, 1.0)

    has_pre = [type(g.kernel).pre is not TorchModel.pre for g in groups]
    has_post = [type(g.kernel).post is not TorchModel.post for g in groups]
    any_pre = any(has_pre)

    def step_fn(v: Tensor, states: list[dict[str, Tensor]], s: Tensor, act: Tensor,
                i_ext: Tensor) -> tuple[Tensor, list[dict[str, Tensor]], Tensor, Tensor]:
        pieces_v, pieces_i, pieces_g, new_states, auxes = [], [], [], [], []
        for g, st, pre in zip(groups, states, has_pre, strict=True):
            vg = v[:, g.a:g.b]
            if pre:
                vg, st = g.kernel.pre(vg, st, g.p, dt)
            i, gg, aux = g.kernel.current(vg, st, g.p)
            pieces_v.append(vg)
            pieces_i.append(i)
            pieces_g.append(gg)
            new_states.append(st)
            auxes.append(aux)
        if any_pre:
            v = torch.cat(pieces_v, 1)
        i_ion = torch.cat(pieces_i, 1) if len(pieces_i) > 1 else pieces_i[0]
        g_ion = torch.cat(pieces_g, 1) if len(pieces_g) > 1 else pieces_g[0]
        # synapses (linear in the own voltage): outward i = G V - GE; muscles receive NMJs
        B = s.shape[0]
        both = syn_op(torch.cat([s, s * E_pre], 0))
        gs, ge = both[:B], both[B:]
        G = g_ion + gs
        rhs = -i_ion - (gs * v - ge)
        if has_gap:
            G = G + Dg
            rhs = rhs - (Dg * v - gap_op(v))
        rhs = rhs + i_ext
        v_new = v + dt * rhs / (c_full + dt * G)
        out_states = []
        for g, st, aux, post in zip(groups, new_states, auxes, has_post, strict=True):
            vg = v_new[:, g.a:g.b]
            st = g.kernel.update(vg, st, g.p, dt, aux)
            if post:
                vg2, st = g.kernel.post(vg, st, g.p, dt)
                v_new = torch.cat([v_new[:, :g.a], vg2, v_new[:, g.b:]], 1)
            out_states.append(st)
        if n_m:
            tgt = target_fn(v_new[:, n:])
            act = tgt + (act - tgt) * act_decay
        # synaptic activation with the presynaptic voltage of the step start
        sinf = sinf_fn(v[:, :n])
        s = sinf + (s - sinf) * s_decay
        return v_new, out_states, s, act

    return step_fn


class _PairSum:
    """``x @ M`` for a sparse (rows, cols) matrix ``M`` via gather + scatter-add over its
    nonzero entries (differentiable in ``x`` and faster than CSR products at this size)."""

    def __init__(self, m: np.ndarray, kw: dict[str, Any]) -> None:
        r, c = np.nonzero(m)
        dev = kw["device"]
        self.rows = torch.as_tensor(r, dtype=torch.long, device=dev)
        self.cols = torch.as_tensor(c, dtype=torch.long, device=dev)
        self.w = torch.as_tensor(m[r, c], **kw)
        self.n_out = m.shape[1]

    def __call__(self, x: Tensor) -> Tensor:
        out = x.new_zeros(x.shape[0], self.n_out)
        return out.index_add(1, self.cols, x[:, self.rows] * self.w)


def _input_matrix(spec: Any, inputs: Mapping[str, Any] | None, nt: int, dt: float,
                  B: int) -> np.ndarray | None:
    """(nt, B, n) injected currents (pA) in neuron order, or None for no input."""
    if not inputs:
        return None
    t = np.arange(nt) * dt
    out = np.zeros((nt, B, spec.n_neurons))
    for name, value in inputs.items():
        try:
            i = spec.index(name)
        except (KeyError, ValueError) as exc:
            raise TorchSimError(f"inputs: unknown neuron {name!r}") from exc
        if isinstance(value, CurrentClamp):
            if value.n_sweeps != 1:
                raise TorchSimError(f"inputs[{name!r}]: a network input clamp needs one sweep")
            arr = value.current_at(t)[0]
        else:
            arr = np.asarray(value, dtype=float)
            if arr.ndim == 0:
                arr = np.full(nt, float(arr))
            elif arr.shape != (nt,):
                raise TorchSimError(f"inputs[{name!r}]: expected a number, a CurrentClamp or "
                                    f"{nt} per-step values (pA), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise TorchSimError(f"inputs[{name!r}]: values must be finite")
        out[:, :, i] = arr[:, None]
    return out


def simulate_network_torch(spec: Any, duration_ms: float, *, dt_ms: float = 0.025,
                           inputs: Mapping[str, Any] | None = None,
                           record: Sequence[str] = ("v",),
                           record_cells: Sequence[str] | None = None,
                           record_dt_ms: float | None = None, device: Any = "auto",
                           dtype: Any = None, progress: bool = False, compile: bool = False,
                           chunk: int | None = None, threads: int | None = None,
                           network: TorchNetwork | None = None, native: bool = True
                           ) -> TraceResult:
    """Run ``spec`` for ``duration_ms`` (same arguments and result layout as
    :func:`celegans.nrn.network.simulate_network_nrn`).

    ``record``: ``v`` (neurons and muscles), ``a`` (muscle activation; NaN for neurons).
    ``compile``: run chunks of ``chunk`` steps through ``torch.compile`` (same traces, several
    times faster at batch 1; the first run compiles); ``threads``: torch intra-op threads while
    simulating (``None``: leave the process setting); ``native``: see :class:`TorchNetwork`.
    ``network``: an existing batch-1
    :class:`TorchNetwork` of ``spec`` at ``dt_ms`` to reuse (it is reset; its compiled kernels
    are kept, so repeated runs compile once); ``device``/``dtype``/``compile``/``chunk``/
    ``threads`` are then those of ``network``.
    Returns ``data[var]`` of shape ``(1, n_cells, n_time)``."""
    nt = n_steps(duration_ms, dt_ms)
    rdt = dt_ms if record_dt_ms is None else float(record_dt_ms)
    every = rdt / dt_ms
    if rdt <= 0 or abs(every - round(every)) > 1e-6:
        raise TorchSimError(f"record_dt_ms: must be a positive multiple of dt_ms ({dt_ms})")
    every = int(round(every))
    for var in record:
        if var not in ("v", "a"):
            raise TorchSimError(f"record: the torch network records 'v' and 'a', got {var!r}")
    if network is None:
        net = TorchNetwork(spec, dt_ms, device=device, dtype=dtype, compile=compile,
                           chunk=chunk, threads=threads, native=native)
    else:
        net = network
        if net.spec is not spec or abs(net.dt - dt_ms) > 1e-12 or net.B != 1:
            raise TorchSimError("network: must be a batch-1 TorchNetwork of this spec at "
                                f"dt_ms = {dt_ms} (got dt {net.dt}, batch {net.B})")
        net.reset()
    names = (list(spec.neurons) + list(spec.muscles)) if record_cells is None \
        else list(record_cells)
    nidx = {n: i for i, n in enumerate(spec.neurons)}
    midx = {m: i for i, m in enumerate(spec.muscles)}
    bad = [n for n in names if n not in nidx and n not in midx]
    if bad:
        raise TorchSimError(f"record_cells: unknown cells {bad[:5]}")
    drive = _input_matrix(spec, inputs, nt, dt_ms, 1)
    zero = torch.zeros((1, net.N), device=net.device, dtype=net.dtype)
    drive_t = None
    if drive is not None:
        d = torch.as_tensor(drive, device=net.device, dtype=net.dtype)[:, :, net.perm]
        drive_t = torch.cat([d, d.new_zeros(nt, 1, net.N - spec.n_neurons)], 2)
    samples: list[tuple[np.ndarray, np.ndarray]] = []

    n_neu = spec.n_neurons
    inv = net.inv.cpu().numpy()

    def sample(v_row: np.ndarray, act_row: np.ndarray) -> None:
        """One recorded sample from the state of copy 0 (cells in permuted order)."""
        samples.append((v_row[:n_neu][inv], np.concatenate([v_row[n_neu:], act_row])))

    def snap() -> None:
        sample(net.v[0].detach().cpu().numpy(), net.act[0].detach().cpu().numpy())

    snap()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=nt, desc="torch network", unit="step", leave=False)
    M = spec.n_muscles
    with torch.no_grad(), flush_denormals(), _threads(net.threads):
        if net._native is not None:
            # the native kernel records the samples itself: a few long calls
            vbuf = torch.empty((1, nt // every, net.N), dtype=torch.float64)
            abuf = torch.empty((1, nt // every, M), dtype=torch.float64)
            seg = native_hh.call_steps(nt, every)
            k = pos = 0
            while k < nt:
                kk = min(seg, nt - k)
                rec = (every, vbuf, abuf, pos)
                if drive_t is None:
                    net._advance_native(kk, zero, False, record=rec)
                else:
                    net._advance_native(kk, drive_t[k:k + kk], True, record=rec)
                k += kk
                pos += kk // every
                if bar is not None:
                    bar.update(kk)
            vb, ab = vbuf[0].numpy(), abuf[0].numpy()
            net._check_failed()
            if failed_rows(vb).any():
                net.failed = torch.ones_like(net.failed)  # a recorded sample blew up
            for v_row, act_row in zip(vb, ab, strict=True):
                sample(v_row, act_row)
        else:
            k = 0
            while k < nt:
                kk = min(every - k % every, nt - k)  # up to the next recorded sample
                if drive_t is None:
                    net._steps(kk, zero)
                else:
                    net._steps_drive(drive_t[k:k + kk])
                k += kk
                if k % every == 0:
                    snap()
                if bar is not None:
                    bar.update(kk)
            net._check_failed()
    if bar is not None:
        bar.close()
    vn = np.stack([s[0] for s in samples], -1)
    mm = np.stack([s[1] for s in samples], -1)
    data = {}
    for var in record:
        arr = np.full((1, len(names), vn.shape[-1]), np.nan)
        for j, n in enumerate(names):
            if n in nidx:
                if var == "v":
                    arr[0, j] = vn[nidx[n]]
            else:
                arr[0, j] = mm[midx[n]] if var == "v" else mm[M + midx[n]]
        data[var] = arr
    time = np.arange(vn.shape[-1]) * rdt
    return TraceResult(time_ms=time, names=names, data=data,
                       failed=np.array(bool(net.failed[0])))
