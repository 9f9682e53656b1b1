"""Media as resistive-force drag: tangential and normal coefficients per unit body length.

Coefficients are in N*s/m^2 (force per length per speed). Presets and sources live in
``env/data/media.yaml``. The drag on a segment of length ``l`` moving with velocity ``v`` is
``-l (c_t (v.t) t + c_n (v.n) n)``, its rotational drag ``-c_n l^3 / 12 * omega``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from celegans.parameters import ParameterSet
from env.errors import InvalidMediumError, UnknownMediumError

MEDIA_FILE = Path(__file__).with_name("data") / "media.yaml"
# N*s/m^2 -> nN*s/mm^2 (the body's internal units: mm, s, nN)
_SI_TO_BODY = 1.0e3

PRESETS: tuple[str, ...] = ("water", "buffer", "agar")


@lru_cache(maxsize=1)
def media_parameters() -> ParameterSet:
    """The media parameter set (``env/data/media.yaml``)."""
    return ParameterSet.load(MEDIA_FILE)


def _check_coefficient(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidMediumError(f"{name}: expected a number (N*s/m^2), got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise InvalidMediumError(f"{name}: drag coefficient must be finite and > 0 N*s/m^2, "
                                 f"got {value!r}")
    return v


@dataclass(frozen=True)
class Medium:
    """A resistive-force medium: ``c_t``, ``c_n`` per unit length (N*s/m^2)."""

    name: str
    c_t: float
    c_n: float
    viscosity_mPa_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "c_t", _check_coefficient("c_t", self.c_t))
        object.__setattr__(self, "c_n", _check_coefficient("c_n", self.c_n))

    @property
    def ratio(self) -> float:
        """Anisotropy ``c_n / c_t``."""
        return self.c_n / self.c_t

    # --- constructors --------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str) -> Medium:
        """``"water"`` (= ``"buffer"``) or ``"agar"``."""
        if not isinstance(name, str) or name.lower() not in PRESETS:
            raise UnknownMediumError(f"medium: unknown medium {name!r}; expected one of "
                                     f"{PRESETS}, Medium.newtonian(viscosity_mPa_s) or "
                                     f"Medium.between(fraction)")
        v = media_parameters().values()
        key = name.lower()
        if key in ("water", "buffer"):
            return cls(key, v["water_c_t"], v["water_c_n"], v["water_viscosity"])
        return cls("agar", v["agar_c_t"], v["agar_c_n"], None)

    @classmethod
    def newtonian(cls, viscosity_mPa_s: float) -> Medium:
        """A Newtonian liquid: water's coefficients scaled linearly with viscosity (RFT)."""
        try:
            mu = float(viscosity_mPa_s)
        except (TypeError, ValueError):
            raise InvalidMediumError(f"viscosity_mPa_s: expected a number, got "
                                     f"{viscosity_mPa_s!r}") from None
        v = media_parameters().values()
        if not math.isfinite(mu) or mu <= 0:
            raise InvalidMediumError(f"viscosity_mPa_s: must be finite and > 0 mPa*s, got {mu}")
        if mu > v["max_viscosity"]:
            raise InvalidMediumError(f"viscosity_mPa_s: {mu} mPa*s exceeds the supported "
                                     f"{v['max_viscosity']} mPa*s")
        f = mu / v["water_viscosity"]
        return cls(f"newtonian_{mu:g}mPas", v["water_c_t"] * f, v["water_c_n"] * f, mu)

    @classmethod
    def between(cls, fraction: float) -> Medium:
        """Log-interpolation from water (0) to agar (1) in both coefficients (Boyle et al. 2012
        style intermediate media)."""
        try:
            x = float(fraction)
        except (TypeError, ValueError):
            raise InvalidMediumError(f"fraction: expected a number in [0, 1], got "
                                     f"{fraction!r}") from None
        if not 0.0 <= x <= 1.0:
            raise InvalidMediumError(f"fraction: expected a number in [0, 1], got {fraction!r}")
        w, a = cls.preset("water"), cls.preset("agar")
        ct = math.exp((1 - x) * math.log(w.c_t) + x * math.log(a.c_t))
        cn = math.exp((1 - x) * math.log(w.c_n) + x * math.log(a.c_n))
        return cls(f"between_{x:g}", ct, cn, None)

    @classmethod
    def resolve(cls, medium: Medium | str | float) -> Medium:
        """A :class:`Medium` from a medium, a preset name or a viscosity in mPa*s."""
        if isinstance(medium, Medium):
            return medium
        if isinstance(medium, str):
            return cls.preset(medium)
        if isinstance(medium, int | float) and not isinstance(medium, bool):
            return cls.newtonian(medium)
        raise UnknownMediumError(f"medium: expected a Medium, preset name or viscosity "
                                 f"(mPa*s), got {medium!r}")

    # --- drag ------------------------------------------------------------------------------------
    def drag_weights(self, lengths: np.ndarray) -> tuple[np.ndarray, float]:
        """Per-row weights of the stacked tangential/normal Jacobian and the rotational drag
        factor, in body units (nN*s/mm^2)."""
        ct, cn = self.c_t * _SI_TO_BODY, self.c_n * _SI_TO_BODY
        return np.concatenate((ct * lengths, cn * lengths)), cn

    def drag_matrix(self, kin, weights: tuple[np.ndarray, float] | None = None) -> np.ndarray:
        """Generalised drag matrix ``(n_dof, n_dof)`` (body units) for ``body.Kinematics``:
        ``sum_i l_i (c_t Jt_i^T Jt_i + c_n Jn_i^T Jn_i) + c_n sum_i l_i^3/12 Jw_i^T Jw_i``.
        ``weights`` (from :meth:`drag_weights`) may be passed to skip recomputing them."""
        w, cn = self.drag_weights(kin.lengths) if weights is None else weights
        return (kin.J.T * w) @ kin.J + cn * kin.rotation_metric
