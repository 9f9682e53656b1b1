"""A planar worm body held in PyBullet, moved by overdamped (massless) integration.

Model. ``n`` rigid segments (default 25) in a chain from nose (segment 0) to tail, joined by
``n - 1`` revolute joints about the vertical axis (the worm lies on its side, so dorsal/ventral
bending happens in the ground plane). Generalised coordinates ``q = [X, Y, Theta, phi_1 ..
phi_{n-1}]``: nose position (mm), nose-segment angle and joint angles (rad). Segment ``i``
points from nose to tail at angle ``theta_i = Theta + sum_{k<=i} phi_k``; positive joint
angles bend the body towards the dorsal side, which is the ``+normal`` side (left of the
nose-to-tail tangent).

At low Reynolds number inertia plays no role, so each step solves the force balance for the
generalised velocities (``shared/notes/body-mechanics.md``)::

    (A_ext + diag(B) + dt diag(K)) qdot = b_ext + M_active - K phi,    q += dt qdot

``A_ext``/``b_ext`` come from the environment (resistive drag, contacts), ``K``/``B`` are the
activation-dependent joint stiffness/damping and ``M_active`` the muscle moments. The elastic
and contact terms are treated linearly implicitly, so the step is stable for any drag; the
environment evaluates the geometry (``A_ext``) at the predicted midpoint ``q + dt/2 qdot_prev``
(:meth:`Worm.kinematics` ``lookahead``), which makes the net displacement second-order accurate
in ``dt`` (water swimming speed within ~1.5 % at dt = 5 ms, ~0.1 % at 1 ms). PyBullet
(``p.DIRECT``) holds the same geometry (capsule links, base pose + joint angles written back on
:meth:`sync_pybullet`) for geometric queries and rendering; its own stepping is never used.

Internal units: length mm, time s, force nN (so ``EI`` is in nN*mm^2, drag per length in
nN*s/mm^2 = 1e-3 N*s/m^2). PyBullet geometry is scaled by :data:`PYBULLET_SCALE` units per mm
(a 1 mm body in metres is far below Bullet's collision margins). Everything public is in mm, s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.linalg.lapack import dposv as _dposv

from body.errors import BodyInputError, BodyInstabilityError, InvalidActivationError
from body.geometry import (
    MUSCLES,
    N_MUSCLES,
    joint_fractions,
    muscle_joint_matrices,
    row_fractions,
    row_overlap,
    taper_radius,
)
from body.sensors import BodySensors, SensorGeometry, centreline_points
from celegans.parameters import ParameterSet

DEFAULT_PARAMETERS = Path(__file__).with_name("data") / "worm_body.yaml"
_min, _max = np.minimum.reduce, np.maximum.reduce
PYBULLET_SCALE = 10.0  # PyBullet length units per mm

SENSOR_NAMES: tuple[str, ...] = (
    "curvature",        # (24,) 1/mm, body curvature at each muscle row (+ = dorsal bend)
    "stretch_dorsal",   # (24,) strain of the dorsal body wall at each row (+ = stretched)
    "stretch_ventral",  # (24,) strain of the ventral body wall at each row
    "nose",             # (2,) mm, nose tip position
    "head_direction",   # (2,) unit vector the head points to
    "head",             # (2,) mm, centre of the head segment
    "centroid",         # (2,) mm, length-weighted centroid
    "muscle_activation",  # (95,) filtered muscle activation
)


def default_parameters() -> ParameterSet:
    """The body parameter set (``body/data/worm_body.yaml``)."""
    return ParameterSet.load(DEFAULT_PARAMETERS)


class Kinematics:
    """Segment frames and velocity Jacobians at the current state (mm, rad).

    ``Jt``/``Jn``: ``(n_seg, n_dof)`` maps from ``qdot`` to the tangential/normal velocity of
    each segment centre; ``rotation_metric``: ``sum_i l_i^3/12 * Jw_i^T Jw_i`` (constant), for
    rotational drag. ``Jx``/``Jy`` (x/y velocity rows) and ``centres`` are computed on demand.
    """

    __slots__ = ("angles", "cos", "sin", "lengths", "radii", "J", "rotation_metric",
                 "_origin", "_tril")

    def __init__(self, angles, cos, sin, lengths, radii, J, rotation_metric, origin, tril):
        self.angles, self.cos, self.sin = angles, cos, sin
        self.lengths, self.radii = lengths, radii
        self.J = J  # (2 n_seg, n_dof): tangential rows then normal rows
        self.rotation_metric = rotation_metric
        self._origin = origin
        self._tril = tril

    @property
    def Jt(self) -> np.ndarray:
        """Tangential velocity rows of the segment centres ``(n_seg, n_dof)`` (view of ``J``)."""
        return self.J[:len(self.lengths)]

    @property
    def Jn(self) -> np.ndarray:
        """Normal velocity rows of the segment centres ``(n_seg, n_dof)`` (view of ``J``)."""
        return self.J[len(self.lengths):]

    @property
    def tangents(self) -> np.ndarray:
        """Unit tangents (nose -> tail), ``(n_seg, 2)``."""
        return np.stack((self.cos, self.sin), axis=1)

    @property
    def normals(self) -> np.ndarray:
        """Unit normals (dorsal side), ``(n_seg, 2)``."""
        return np.stack((-self.sin, self.cos), axis=1)

    @property
    def centres(self) -> np.ndarray:
        """Segment centres ``(n_seg, 2)``, mm."""
        steps = self.lengths[:, None] * self.tangents
        return self._origin + np.cumsum(steps, axis=0) - 0.5 * steps

    @property
    def Jx(self) -> np.ndarray:
        """x-velocity rows of the segment centres ``(n_seg, n_dof)``."""
        return self.cos[:, None] * self.Jt - self.sin[:, None] * self.Jn

    @property
    def Jy(self) -> np.ndarray:
        """y-velocity rows of the segment centres ``(n_seg, n_dof)``."""
        return self.sin[:, None] * self.Jt + self.cos[:, None] * self.Jn

    def points(self, segments: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Positions ``(k, 2)`` of points ``offsets`` mm along the tangent from the centres of
        ``segments``."""
        seg = np.asarray(segments, dtype=int)
        off = np.asarray(offsets, dtype=float)[:, None]
        return self.centres[seg] + off * self.tangents[seg]

    def point_jacobians(self, segments: np.ndarray, offsets: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
        """x/y velocity rows ``(k, n_dof)`` of points ``offsets`` mm along the tangent from the
        centres of ``segments`` (e.g. +-l/2 for the segment ends)."""
        seg = np.asarray(segments, dtype=int)
        off = np.asarray(offsets, dtype=float)
        c, s = self.cos[seg], self.sin[seg]
        Jt, Jn = self.Jt[seg], self.Jn[seg]
        Jw = np.zeros_like(Jt)
        Jw[:, 2:] = self._tril[seg]
        Jx = c[:, None] * Jt - s[:, None] * Jn - (off * s)[:, None] * Jw
        Jy = s[:, None] * Jt + c[:, None] * Jn + (off * c)[:, None] * Jw
        return Jx, Jy


def validate_activations(a: object, n: int = N_MUSCLES, field: str = "activations",
                         tol: float = 1e-9) -> np.ndarray:
    """Return ``a`` as a float array of length ``n`` in ``[0, 1]``, or raise
    :class:`InvalidActivationError` naming ``field``."""
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidActivationError(f"{field}: expected {n} numbers in [0, 1] ({exc})") from None
    if arr.shape != (n,):
        raise InvalidActivationError(
            f"{field}: expected shape ({n},) (one per body-wall muscle in named order), "
            f"got {arr.shape}")
    lo, hi = _min(arr), _max(arr)  # ufunc reductions (skip ndarray.min's Python wrapper)
    if lo >= 0.0 and hi <= 1.0:  # fast path (NaN fails both comparisons)
        return arr.copy() if arr is a else arr
    if not np.all(np.isfinite(arr)):
        bad = [MUSCLES[i] if n == N_MUSCLES else str(i) for i in np.flatnonzero(~np.isfinite(arr))]
        raise InvalidActivationError(f"{field}: non-finite values for {bad[:5]}")
    if lo < -tol or hi > 1 + tol:
        i = int(np.argmax(np.maximum(arr - 1, -arr)))
        name = MUSCLES[i] if n == N_MUSCLES else str(i)
        raise InvalidActivationError(
            f"{field}: values must lie in [0, 1]; {name} = {arr[i]:.6g}")
    return np.clip(arr, 0.0, 1.0)


class Worm:
    """The worm body: geometry, 95 muscles -> joint moments, proprioception, PyBullet shape.

    Knows nothing of media: :meth:`step` takes the environment's generalised drag matrix and
    force vector. Activations arrive in the named muscle order (:data:`body.MUSCLES`).
    """

    muscle_names: tuple[str, ...] = MUSCLES
    sensor_names: tuple[str, ...] = SENSOR_NAMES

    def __init__(self, parameters: ParameterSet | Mapping[str, float] | None = None, *,
                 n_segments: int | None = None, position: tuple[float, float] = (0.0, 0.0),
                 heading: float = 0.0, use_pybullet: bool = True) -> None:
        ps = default_parameters()
        if parameters is not None:
            vals = parameters.values() if isinstance(parameters, ParameterSet) else parameters
            unknown = set(vals) - set(ps)
            if unknown:
                raise BodyInputError(f"parameters: unknown body parameters {sorted(unknown)}")
            ps = ps.updated(dict(vals))
        if n_segments is not None:
            ps = ps.updated({"n_segments": n_segments})
        self.parameters = ps
        v = ps.values()
        n = int(round(v["n_segments"]))
        if n < 5:
            raise BodyInputError(f"n_segments: need at least 5 segments, got {n}")
        self.n_segments = n
        self.n_joints = n - 1
        self.n_dof = n + 2
        self.length = v["body_length"]
        self.lengths = np.full(n, self.length / n)
        s_centres = (np.arange(n) + 0.5) / n
        self.radii = taper_radius(s_centres, v["max_radius"], v["taper_end_padding"])
        self.joint_s = joint_fractions(n)
        r_joint = taper_radius(self.joint_s, v["max_radius"], v["taper_end_padding"])
        taper = (r_joint / v["max_radius"]) ** v["stiffness_taper_exponent"]
        ds = 0.5 * (self.lengths[:-1] + self.lengths[1:])
        self._ds = ds
        self._k_passive = v["bending_stiffness"] * taper / ds            # nN*mm/rad
        self._k_active = v["active_stiffness_ratio"] * self._k_passive
        self._b_passive = v["passive_damping_time"] * self._k_passive    # nN*mm*s/rad
        b_full = v["active_damping_time"] * (self._k_passive + self._k_active)
        self._b_active = np.maximum(b_full - self._b_passive, 0.0)
        self._phi_muscle = v["max_muscle_curvature"] * ds                 # rad
        self._k_drive = self._k_active * self._phi_muscle                  # nN*mm
        self._tau_m = v["muscle_time_constant"]
        self._max_joint_speed = v["max_joint_speed"]
        self._dorsal, self._ventral = muscle_joint_matrices(n)
        self._side_matrix = np.concatenate((self._dorsal, self._ventral), axis=0)
        self._filter_cache: tuple = (-1.0,)
        # the joint part of the diagonal of a C-contiguous (n_dof, n_dof) matrix, flattened
        self._diag_slice = slice(3 * (n + 3), None, n + 3)
        W = row_overlap(n).T                                               # (24, n_joints)
        self._row_from_joint = W / W.sum(axis=1, keepdims=True)
        self.row_s = row_fractions()
        self._row_radius = taper_radius(self.row_s, v["max_radius"], v["taper_end_padding"])
        self._anterior = s_centres < v["touch_anterior_fraction"]
        cw = np.zeros(n + 1)  # centroid = sum_i l_i (p_i + p_{i+1}) / 2 / L
        cw[:-1] += 0.5 * self.lengths / self.length
        cw[1:] += 0.5 * self.lengths / self.length
        self._centroid_weights = cw
        self._sensor_geometry = SensorGeometry(self.lengths, ds, self._row_from_joint,
                                               self._row_radius, cw)
        # a_im: lever of segment m's rotation on the centre of segment i
        a = np.tril(np.broadcast_to(self.lengths, (n, n)), k=-1).copy()
        a[np.diag_indices(n)] = self.lengths / 2
        self._lever = a
        self._tril = np.tril(np.ones((n, n)))
        self._ctril = self._tril.astype(complex)
        self._ilever = 1j * a
        rot = np.zeros((self.n_dof, self.n_dof))
        rot[2:, 2:] = self._tril.T @ ((self.lengths ** 3 / 12.0)[:, None] * self._tril)
        self._rotation_metric = rot
        self._client: int | None = None
        self._body: int | None = None
        self._link_indices = list(range(self.n_joints))
        self._dirty = True
        if use_pybullet:
            self._build_pybullet()
        self.reset(position=position, heading=heading)

    # --- state ---------------------------------------------------------------------------------
    def reset(self, position: tuple[float, float] = (0.0, 0.0), heading: float = 0.0,
              joint_angles: np.ndarray | None = None) -> None:
        """Straight (or given) posture with the nose at ``position`` (mm), head pointing at
        angle ``heading`` (rad, from +x); muscles relaxed; time 0."""
        pos = np.asarray(position, dtype=float)
        if pos.shape != (2,) or not np.all(np.isfinite(pos)):
            raise BodyInputError(f"position: expected 2 finite numbers (mm), got {position!r}")
        if not math.isfinite(float(heading)):
            raise BodyInputError(f"heading: expected a finite angle (rad), got {heading!r}")
        q = np.zeros(self.n_dof)
        q[:2] = pos
        q[2] = float(heading) + math.pi  # segments point nose -> tail, opposite the heading
        if joint_angles is not None:
            ja = np.asarray(joint_angles, dtype=float)
            if ja.shape != (self.n_joints,) or not np.all(np.isfinite(ja)):
                raise BodyInputError(
                    f"joint_angles: expected {self.n_joints} finite angles, got shape {ja.shape}")
            q[3:] = ja
        self.q = q
        self.qdot = np.zeros(self.n_dof)
        self.time = 0.0
        self._command = np.zeros(N_MUSCLES)
        self._activation = np.zeros(N_MUSCLES)
        self._dirty = True

    @property
    def joint_angles(self) -> np.ndarray:
        """Joint angles (rad), nose to tail."""
        return self.q[3:].copy()

    @property
    def activation(self) -> np.ndarray:
        """Filtered muscle activation (95,), named order."""
        return self._activation.copy()

    @property
    def command(self) -> np.ndarray:
        """Commanded (unfiltered) muscle activation (95,), named order."""
        return self._command.copy()

    def set_activation(self, activations: object) -> None:
        """Command muscle activations (95 values in [0, 1], named order), held until changed."""
        self._command = validate_activations(activations)

    # --- kinematics ------------------------------------------------------------------------------
    def segment_angles(self) -> np.ndarray:
        """Absolute angle of each segment (nose -> tail direction), rad."""
        return self.q[2] + np.concatenate(([0.0], np.cumsum(self.q[3:])))

    def joint_points(self) -> np.ndarray:
        """``(n_seg + 1, 2)`` centreline points from nose tip to tail tip, mm."""
        return centreline_points(self.q, self.lengths)

    def kinematics(self, lookahead: float = 0.0) -> Kinematics:
        """Segment frames and Jacobians at the current state, or (``lookahead`` = h > 0 s) at the
        state extrapolated with the last velocity, ``q + h qdot`` (used by the stepping for a
        second-order accurate geometry at no extra solve)."""
        n = self.n_segments
        if lookahead == 0.0:
            q = self.q
            origin = q[:2].copy()
        else:
            q = self.q + lookahead * self.qdot
            origin = q[:2]
        th = q[2:].cumsum()
        z = np.exp(1j * th)  # tangent as a complex number
        c, s = z.real, z.imag
        # complex rows: (v_t + i v_n) of each centre = conj(z_i) (v_x + i v_y); a rotation of
        # segment m moves centre i by lever_im * i z_m (theta = cumsum u -> @ tril). Written
        # straight into the real J: x column conj(z) = c - i s, y column i conj(z) = s + i c
        J = np.empty((2 * n, self.n_dof))
        J[:n, 0] = c
        J[n:, 0] = -s
        J[:n, 1] = s
        J[n:, 1] = c
        rot = z.conj()[:, None] * ((self._ilever * z) @ self._ctril)
        J[:n, 2:] = rot.real
        J[n:, 2:] = rot.imag
        return Kinematics(th, c, s, self.lengths, self.radii, J, self._rotation_metric,
                          origin, self._tril)

    @property
    def rotation_metric(self) -> np.ndarray:
        """``(n_dof, n_dof)`` constant ``sum_i l_i^3/12 Jw_i^T Jw_i`` (rotational drag per unit
        normal drag coefficient); read-only view."""
        v = self._rotation_metric.view()
        v.flags.writeable = False
        return v

    # --- muscles and internal forces -----------------------------------------------------------
    def side_activation(self) -> tuple[np.ndarray, np.ndarray]:
        """Dorsal and ventral activation at each joint, each ``(n_joints,)`` in [0, 1]."""
        return self._dorsal @ self._activation, self._ventral @ self._activation

    def joint_moments(self) -> np.ndarray:
        """Net internal moment at each joint (nN*mm): muscles minus passive elasticity."""
        d, v = self.side_activation()
        k = self._k_passive + self._k_active * (d + v)
        return self._k_active * self._phi_muscle * (d - v) - k * self.q[3:]

    # --- stepping --------------------------------------------------------------------------------
    def step(self, dt: float, drag_matrix: np.ndarray, force: np.ndarray | None = None,
             overwrite: bool = False) -> None:
        """Advance by ``dt`` seconds given the environment's generalised drag matrix
        ``(n_dof, n_dof)`` (nN*s per unit q) and generalised force ``(n_dof,)`` (nN, nN*mm).
        ``overwrite=True`` lets the step reuse ``drag_matrix`` (a C-contiguous float array)
        as scratch space.

        Raises :class:`BodyInstabilityError` on a non-finite or runaway solution.
        """
        if not 0.0 < dt < math.inf:  # also rejects NaN
            raise BodyInputError(f"dt: expected a positive time step (s), got {dt!r}")
        # muscle filter, exact for a command held over the step
        fc = self._filter_cache
        if fc[0] != dt:
            fc = self._filter_cache = (dt, 1.0 - math.exp(-dt / self._tau_m),
                                       self._b_passive + dt * self._k_passive,
                                       self._b_active + dt * self._k_active)
        _, alpha, diag0, diag1 = fc
        act = self._activation
        act += (self._command - act) * alpha
        nj = self.n_joints
        sides = self._side_matrix @ act
        d, v = sides[:nj], sides[nj:]
        dv = d + v
        if overwrite and type(drag_matrix) is np.ndarray and drag_matrix.dtype == np.float64 \
                and drag_matrix.flags.c_contiguous and drag_matrix.flags.writeable:
            A = drag_matrix
        else:
            A = np.array(drag_matrix, dtype=float, order="C")  # C order: the view below
        if A.shape != (self.n_dof, self.n_dof):
            raise BodyInputError(f"drag_matrix: expected shape ({self.n_dof}, {self.n_dof}), "
                                 f"got {A.shape}")
        # joint damping B + dt K (stiffness linearly implicit), both rising with activation;
        # the joint diagonal as a strided view of the C-contiguous A
        A.reshape(-1)[self._diag_slice] += diag0 + diag1 * dv
        rhs = np.zeros(self.n_dof) if force is None else np.array(force, dtype=float)
        rhs[3:] += self._k_drive * (d - v) - (self._k_passive + self._k_active * dv) * self.q[3:]
        # A is symmetric positive definite (drag + joint damping): Cholesky solve
        _, qdot, info = _dposv(A.T, rhs, overwrite_a=1, overwrite_b=1)
        wmax = _max(np.abs(qdot)) if info == 0 else math.nan
        if not wmax <= self._max_joint_speed:  # also catches NaN
            if info != 0:
                reason = f"force balance not positive definite (LAPACK dposv info {info})"
            elif not np.all(np.isfinite(qdot)):
                reason = "non-finite velocities"
            else:
                reason = (f"runaway velocity {wmax:.3g} (rad/s or mm/s) > max_joint_speed "
                          f"{self._max_joint_speed:.3g}")
            raise BodyInstabilityError(reason, self.time)
        self.qdot = qdot
        self.q += dt * qdot
        self.time += dt
        self._dirty = True

    # --- sensors ---------------------------------------------------------------------------------
    def joint_curvature(self) -> np.ndarray:
        """Curvature at each joint (1/mm), + = dorsal bend."""
        return self.q[3:] / self._ds

    def row_curvature(self) -> np.ndarray:
        """Curvature (1/mm) at each of the 24 muscle rows (overlap-weighted joint curvatures)."""
        return self._row_from_joint @ self.joint_curvature()

    def nose(self) -> np.ndarray:
        """Nose tip position (mm)."""
        return self.q[:2].copy()

    def head_direction(self) -> np.ndarray:
        """Unit vector the head points to (from the neck to the nose)."""
        th = self.q[2]
        return -np.array([math.cos(th), math.sin(th)])

    def centreline(self) -> np.ndarray:
        """``(n_seg + 1, 2)`` centreline, nose first, mm."""
        return self.joint_points()

    def centroid(self) -> np.ndarray:
        """Length-weighted centroid of the segment centres (mm)."""
        return self._centroid_weights @ self.joint_points()

    def anterior_segments(self) -> np.ndarray:
        """Boolean mask of segments in the anterior touch field."""
        return self._anterior.copy()

    def sensors(self) -> dict[str, np.ndarray]:
        """Named body sensors (order :data:`SENSOR_NAMES`), mm and 1/mm."""
        return dict(self.sensor_snapshot())

    def sensor_snapshot(self) -> BodySensors:
        """The body sensors at this moment as a lazy read-only mapping (same names, order and
        values as :meth:`sensors`): each is computed only when read, so a caller that needs a
        few of them (the organism loop reads the stretch receptors) pays only for those."""
        return BodySensors(self)

    # --- PyBullet ------------------------------------------------------------------------------
    def _build_pybullet(self) -> None:
        import pybullet as p

        cid = p.connect(p.DIRECT)
        self._client = cid
        p.setGravity(0, 0, 0, physicsClientId=cid)
        S = PYBULLET_SCALE
        rot = p.getQuaternionFromEuler((0.0, math.pi / 2, 0.0))  # capsule axis z -> x
        shapes = []
        for i in range(self.n_segments):
            r = max(self.radii[i], 1e-3) * S
            h = max(self.lengths[i] * S - 2 * r, 1e-3)
            shapes.append(p.createCollisionShape(
                p.GEOM_CAPSULE, radius=r, height=h, collisionFramePosition=(0.5 * self.lengths[i]
                                                                            * S, 0, 0),
                collisionFrameOrientation=rot, physicsClientId=cid))
        nl = self.n_segments - 1
        self._body = p.createMultiBody(
            baseMass=1.0, baseCollisionShapeIndex=shapes[0], basePosition=(0, 0, 0),
            linkMasses=[1.0] * nl, linkCollisionShapeIndices=shapes[1:],
            linkVisualShapeIndices=[-1] * nl,
            linkPositions=[(self.lengths[i] * S, 0, 0) for i in range(nl)],
            linkOrientations=[(0, 0, 0, 1)] * nl, linkInertialFramePositions=[(0, 0, 0)] * nl,
            linkInertialFrameOrientations=[(0, 0, 0, 1)] * nl,
            linkParentIndices=list(range(nl)), linkJointTypes=[p.JOINT_REVOLUTE] * nl,
            linkJointAxis=[(0, 0, 1)] * nl, physicsClientId=cid)
        for j in range(-1, nl):
            p.changeDynamics(self._body, j, linearDamping=0.0, angularDamping=0.0,
                             jointDamping=0.0, maxJointVelocity=1e6,
                             activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING,
                             physicsClientId=cid)
        p.setJointMotorControlArray(self._body, list(range(nl)), p.VELOCITY_CONTROL,
                                    forces=[0.0] * nl, physicsClientId=cid)

    @property
    def pybullet_client(self) -> int | None:
        """PyBullet client id (``None`` without PyBullet)."""
        return self._client

    @property
    def pybullet_body(self) -> int | None:
        """PyBullet body id after bringing the PyBullet state up to date."""
        self.sync_pybullet()
        return self._body

    def sync_pybullet(self) -> None:
        """Write the current posture into PyBullet (base pose and joint angles)."""
        if self._client is None or not self._dirty:
            return
        import pybullet as p

        S = PYBULLET_SCALE
        orn = p.getQuaternionFromEuler((0.0, 0.0, float(self.q[2])))
        p.resetBasePositionAndOrientation(self._body, (self.q[0] * S, self.q[1] * S, 0.0), orn,
                                          physicsClientId=self._client)
        p.resetJointStatesMultiDof(self._body, self._link_indices,
                                   [[x] for x in self.q[3:].tolist()],
                                   physicsClientId=self._client)
        self._dirty = False

    def pybullet_joint_points(self) -> np.ndarray:
        """Joint positions read back from PyBullet (mm), nose first, excluding the tail tip."""
        if self._client is None:
            raise BodyInputError("use_pybullet: this Worm was built without PyBullet")
        import pybullet as p

        self.sync_pybullet()
        S = PYBULLET_SCALE
        base = p.getBasePositionAndOrientation(self._body, physicsClientId=self._client)[0]
        links = p.getLinkStates(self._body, self._link_indices, physicsClientId=self._client)
        pts = [base[:2]] + [st[4][:2] for st in links]  # link frame = joint position
        return np.asarray(pts) / S

    def close(self) -> None:
        """Disconnect the PyBullet client."""
        if self._client is not None:
            import pybullet as p

            try:
                p.disconnect(physicsClientId=self._client)
            except p.error:  # already disconnected
                pass
            self._client = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass
