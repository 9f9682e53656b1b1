"""CPU fast path of :class:`celegans.torchsim.network.TorchNetwork`: every step of an advance
in one native call (``net_run`` of ``native/hh_kernel.c``), on the network's state tensors in
place (a few microseconds per call besides the steps).

Applies to networks whose groups are ``hh`` cells with a fused plan, Morris-Lecar cells and
passive cells (the muscles are passive), on CPU, in float64, without gradients; the
arithmetic is the torch step's (:func:`celegans.torchsim.network._make_step_fn`), so traces
agree to rounding. Network copies (``batch``) run in parallel on ``torch.get_num_threads()``
threads. Anything else (GLIF groups, CUDA, float32, ``native=False``) takes the torch step.
"""

from __future__ import annotations

import ctypes
from typing import Any

import torch

from celegans.torchsim import hh_fused, native_hh
from celegans.torchsim.native_hh import _VP, Plan, expand64

Tensor = torch.Tensor

_PASSIVE, _HH, _ML = 0, 1, 2
#: parameter rows of a Morris-Lecar group, the order of hh_kernel.c's GROUP_ML
ML_PARAMS = ("V1", "V2", "V3", "V4", "g_Ca", "g_K", "g_L", "E_Ca", "E_K", "E_L", "tau_w0")


class _Group(ctypes.Structure):
    """Mirror of ``net_group`` in hh_kernel.c."""

    _fields_ = [
        ("kind", ctypes.c_int32), ("a", ctypes.c_int64), ("b", ctypes.c_int64),
        ("plan", ctypes.POINTER(Plan)), ("x", _VP), ("ca", _VP), ("gbar", _VP),
        ("erev", _VP), ("ca_par", _VP), ("g_L", _VP), ("E_L", _VP), ("w", _VP),
        ("par", _VP),
    ]


class _NetArgs(ctypes.Structure):
    """Mirror of ``net_args`` in hh_kernel.c."""

    _fields_ = [
        ("B", ctypes.c_int64), ("N", ctypes.c_int64), ("n", ctypes.c_int64),
        ("M", ctypes.c_int64), ("n_steps", ctypes.c_int64), ("dt", ctypes.c_double),
        ("n_groups", ctypes.c_int32), ("groups", ctypes.POINTER(_Group)),
        ("syn_ptr", _VP), ("syn_pre", _VP), ("syn_w", _VP), ("E_pre", _VP),
        ("has_gap", ctypes.c_int32), ("gap_ptr", _VP), ("gap_from", _VP), ("gap_w", _VP),
        ("Dg", _VP), ("cap", _VP),
        ("syn_vth", ctypes.c_double), ("syn_delta", ctypes.c_double),
        ("s_decay", ctypes.c_double), ("v_rest", ctypes.c_double),
        ("v_sat", ctypes.c_double), ("act_decay", ctypes.c_double),
        ("i_ext", _VP), ("i_ext_step", ctypes.c_int64),
        ("v", _VP), ("s", _VP), ("act", _VP),
        ("rec_every", ctypes.c_int64), ("rec_len", ctypes.c_int64), ("rec_pos", ctypes.c_int64),
        ("rec_v", _VP), ("rec_act", _VP), ("n_threads", ctypes.c_int32),
    ]


def _c64(t: Tensor) -> Tensor:
    """``t`` as a contiguous float64 CPU tensor without gradient (``t`` itself if it is)."""
    if (t.device.type == "cpu" and t.dtype == torch.float64 and t.is_contiguous()
            and not t.requires_grad):
        return t
    return t.detach().to(device="cpu", dtype=torch.float64).contiguous()


def _csr(op: Any, n_out: int) -> tuple[Tensor, Tensor, Tensor]:
    """A pair-sum operator (``out[cols] += x[rows] * w``) by output: row pointers (n_out + 1),
    inputs and weights (stable order: the torch sums' order within an output)."""
    cols = op.cols.cpu()
    order = torch.sort(cols, stable=True).indices
    counts = torch.bincount(cols, minlength=n_out)
    ptr = torch.zeros(n_out + 1, dtype=torch.int64)
    ptr[1:] = torch.cumsum(counts, 0)
    return ptr, op.rows.cpu()[order].contiguous(), _c64(op.w)[order].contiguous()


class NetworkRunner:
    """The static part of a network for ``net_run`` (plans, constants, connectivity by
    receiving cell); :meth:`run` advances the network's state in place. Build with
    :meth:`build`."""

    def __init__(self, net: Any, groups: list[tuple[int, Any]], lib: ctypes.CDLL) -> None:
        self.keep: list[Any] = []
        self.hh = [i for i, (kind, _) in enumerate(groups) if kind == _HH]
        self.ml = [i for i, (kind, _) in enumerate(groups) if kind == _ML]
        structs = []
        for (kind, data), g in zip(groups, net.groups, strict=True):
            ng = g.b - g.a
            if kind == _HH:
                plan, gbar, erev, ca_par = data
                structs.append(_Group(kind=_HH, a=g.a, b=g.b, plan=ctypes.pointer(plan),
                                      gbar=gbar.data_ptr(), erev=erev.data_ptr(),
                                      ca_par=ca_par.data_ptr()))
                self.keep += [plan, gbar, erev, ca_par]
            elif kind == _ML:
                structs.append(_Group(kind=_ML, a=g.a, b=g.b, par=data.data_ptr()))
                self.keep.append(data)
            else:
                gl = expand64(g.p["g_L"], (1, ng)).reshape(ng).contiguous()
                el = expand64(g.p["E_L"], (1, ng)).reshape(ng).contiguous()
                structs.append(_Group(kind=_PASSIVE, a=g.a, b=g.b, g_L=gl.data_ptr(),
                                      E_L=el.data_ptr()))
                self.keep += [gl, el]
        self.groups = (_Group * len(structs))(*structs)
        self.syn = _csr(net.syn_op, net.N)
        self.gap = _csr(net.gap_op, net.N)
        self.E_pre, self.Dg = _c64(net.E_pre), _c64(net.Dg_full)
        self.cap = _c64(net.c_full).reshape(-1).contiguous()
        mp = net.mp
        self.args = _NetArgs(
            B=net.B, N=net.N, n=net.spec.n_neurons, M=net.n_muscles, dt=net.dt,
            n_groups=len(structs), groups=self.groups,
            syn_ptr=self.syn[0].data_ptr(), syn_pre=self.syn[1].data_ptr(),
            syn_w=self.syn[2].data_ptr(), E_pre=self.E_pre.data_ptr(),
            has_gap=int(bool(net.has_gap)), gap_ptr=self.gap[0].data_ptr(),
            gap_from=self.gap[1].data_ptr(), gap_w=self.gap[2].data_ptr(),
            Dg=self.Dg.data_ptr(), cap=self.cap.data_ptr(),
            syn_vth=float(net.syn_vth), syn_delta=float(net.syn_delta),
            s_decay=float(net._s_decay), v_rest=float(mp["V_rest"]),
            v_sat=float(mp["V_sat"]), act_decay=float(net._act_decay))
        self._bound: tuple = ()
        self._lib = lib

    @classmethod
    def build(cls, net: Any) -> NetworkRunner | None:
        """The runner of ``net``, or ``None`` when the native path does not apply."""
        from celegans.torchsim.models import HHCellTorch, MorrisLecarTorch, PassiveTorch

        if not native_hh.ENABLED or net.device.type != "cpu" or net.dtype != torch.float64:
            return None
        groups: list[tuple[int, Any]] = []
        for g in net.groups:
            ng = g.b - g.a
            if isinstance(g.kernel, HHCellTorch):
                plan = native_hh.plan_for(g.kernel, g.p, net.dt)  # warns if no library
                if plan is None:
                    return None
                C = plan.C
                gbar = expand64(g.p["__hh_gbar__"], (C, 1, ng)).reshape(C, ng).contiguous()
                erev = expand64(g.p["__hh_erev__"], (C, 1, ng)).reshape(C, ng).contiguous()
                ca_par = native_hh.calcium_parameters(g.kernel, g.p, (1, ng),
                                                      net.dt).reshape(6, ng)
                groups.append((_HH, (plan, gbar, erev, ca_par.contiguous())))
            elif type(g.kernel) is PassiveTorch:
                groups.append((_PASSIVE, None))
            elif type(g.kernel) is MorrisLecarTorch:
                par = torch.stack([expand64(g.p[k], (1, ng)).reshape(ng) for k in ML_PARAMS], 0)
                groups.append((_ML, par.contiguous()))
            else:
                return None  # GLIF groups (spike events): the torch step
        lib = native_hh.available()
        if lib is None:
            return None
        if (lib.net_args_size() != ctypes.sizeof(_NetArgs)
                or lib.net_group_size() != ctypes.sizeof(_Group)):
            raise native_hh.NativeBuildError("hh_kernel.c: network argument layout differs "
                                             "from native_network")
        return cls(net, groups, lib)

    def _bind(self, net: Any) -> None:
        """Point the kernel at the network's state tensors (made contiguous float64 CPU
        tensors of the network first); nothing to do while they are the bound ones."""
        cur = self._state_tensors(net)
        if len(cur) == len(self._bound) and all(
                x is y for x, y in zip(cur, self._bound, strict=True)):
            return
        net.v, net.s, net.act = _c64(net.v), _c64(net.s), _c64(net.act)
        a = self.args
        a.v, a.s, a.act = net.v.data_ptr(), net.s.data_ptr(), net.act.data_ptr()
        for i in self.hh:
            st = dict(net.states[i])
            for key in (hh_fused.PACKED, "ca_i"):
                if key in st:
                    st[key] = _c64(st[key])
            net.states[i] = st
            self.groups[i].x = st[hh_fused.PACKED].data_ptr()
            self.groups[i].ca = st["ca_i"].data_ptr() if "ca_i" in st else None
        for i in self.ml:
            st = dict(net.states[i])
            st["w"] = _c64(st["w"])
            net.states[i] = st
            self.groups[i].w = st["w"].data_ptr()
        self._bound = self._state_tensors(net)

    def _state_tensors(self, net: Any) -> tuple:
        hx = [net.states[i] for i in self.hh]
        return (net.v, net.s, net.act, *(st[hh_fused.PACKED] for st in hx),
                *(st.get("ca_i") for st in hx), *(net.states[i]["w"] for i in self.ml))

    def run(self, net: Any, k: int, i_ext: Tensor, per_step: bool,
            record: tuple[int, Tensor, Tensor, int] | None = None) -> None:
        """``k`` steps of ``net`` with injected currents ``i_ext`` ((B, N) held, or (k, B, N)
        one per step when ``per_step``), updating the network's state tensors in place.
        ``record = (every, v_out (B, T, N), act_out (B, T, M), pos)``: also write V and the
        muscle activation every ``every`` steps into the outputs from sample ``pos`` on."""
        self._bind(net)
        ie = _c64(i_ext)
        shape = (k, net.B, net.N) if per_step else (net.B, net.N)
        if tuple(ie.shape) != shape:
            ie = ie.expand(shape).contiguous()
        a = self.args
        a.n_steps = int(k)
        a.i_ext, a.i_ext_step = ie.data_ptr(), (net.B * net.N if per_step else 0)
        a.n_threads = int(torch.get_num_threads())
        if record is None:
            a.rec_v = a.rec_act = None
        else:
            every, v_out, act_out, pos = record
            if v_out.dtype != torch.float64 or not v_out.is_contiguous() \
                    or not act_out.is_contiguous() or pos + k // every > v_out.shape[1]:
                raise ValueError(f"native network recording: need contiguous float64 buffers "
                                 f"(B, T, N) and (B, T, M) with room for {k // every} samples "
                                 f"from sample {pos}; got {v_out.dtype} {tuple(v_out.shape)}")
            a.rec_every, a.rec_len, a.rec_pos = int(every), int(v_out.shape[1]), int(pos)
            a.rec_v, a.rec_act = v_out.data_ptr(), act_out.data_ptr()
        rc = self._lib.net_run(ctypes.byref(a))
        if rc != 0:  # pragma: no cover - sizes were checked by plan_for
            raise RuntimeError(f"torchsim: native network kernel failed (code {rc})")
