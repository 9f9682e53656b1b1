"""Channel kinetics: published equations, numpy/torch agreement, data files complete."""

from __future__ import annotations

import math

import numpy as np
import pytest

from celegans.channels import kinetic_groups, load_kinetics
from celegans.channels import kinetics as K

V = np.linspace(-120.0, 60.0, 37)


def _ctx(name: str, v):
    spec = K.CHANNELS[name]
    if spec.partner:
        pr = K.rates(spec.partner, v, load_kinetics(K.CHANNELS[spec.partner].group).values(), np)
        return dict(partner_rates=pr, partner_m=pr["m"][0], E_Ca=60.0,
                    nanodomain=load_kinetics("nanodomain").values())
    return dict(ca_i=2e-4)


@pytest.mark.parametrize("name", sorted(K.CHANNELS))
def test_rates_finite_positive(name):
    r = K.rates(name, V, load_kinetics(K.CHANNELS[name].group).values(), np, **_ctx(name, V))
    assert set(r) == set(K.CHANNELS[name].gates)
    for gate, (inf, tau) in r.items():
        assert np.all(np.isfinite(inf)) and np.all(np.isfinite(tau)), gate
        assert np.all(tau > 0), f"{name}.{gate}: non-positive tau"
        assert np.all(inf >= 0), f"{name}.{gate}: negative steady state"


def test_every_channel_has_data():
    groups = set(kinetic_groups())
    for spec in K.CHANNELS.values():
        assert spec.group in groups, spec.name
    assert {"nanodomain", "ca_pool"} <= groups
    for g in groups:
        for p in load_kinetics(g).values():
            assert math.isfinite(load_kinetics(g)[p].value)
        for prm in load_kinetics(g).parameters.values():
            assert prm.unit and prm.source, f"{g}.{prm.name} lacks unit/source"


# --- spot checks against the equations as printed in the 2019 model (RMD.ode) --------------

def test_shl1_matches_2019_equations():
    p = load_kinetics("shl1").values()
    v = np.array([-60.0, -20.0, 10.0])
    r = K.rates("shl1", v, p, np)
    minf = 1 / (1 + np.exp(-(v - 11.2 + 18) / 14.1))
    tm = (13.8 / (np.exp(-(v + 17.5165) / 12.9213) + np.exp((v + 3.7082) / 6.4876)) + 1.8849) * 0.1
    ths = (8422 / (1 + np.exp((v + 37.7391) / 6.3785)) + 118.8983) * 0.1
    np.testing.assert_allclose(r["m"][0], minf, rtol=1e-12)
    np.testing.assert_allclose(r["m"][1], tm, rtol=1e-12)
    np.testing.assert_allclose(r["hs"][1], ths, rtol=1e-12)
    g = {"m": np.array(0.5), "hf": np.array(0.2), "hs": np.array(0.6)}
    assert K.open_fraction("shl1", g, p) == pytest.approx(0.125 * (0.7 * 0.2 + 0.3 * 0.6))


def test_unc2_egl19_cca1_match_2019_equations():
    v = np.array([-50.0, -10.0, 20.0])
    r = K.rates("unc2", v, load_kinetics("unc2").values(), np)
    th = (83.8037 / (1 + np.exp((v - 52.8997 + 30) / 3.4557))
          + 72.0995 / (1 + np.exp(-(v - 23.9009 + 30) / 3.5903))) * 1.7
    np.testing.assert_allclose(r["h"][1], th, rtol=1e-12)
    r = K.rates("egl19", v, load_kinetics("egl19").values(), np)
    tm = 2.3359 + 2.9324 * np.exp(-(v - 5.2357 + 10) ** 2 / 36) \
        + 1.8739 * np.exp(-(v - 1.393 + 10) ** 2 / 900)
    hinf = (1.4314 / (1 + np.exp(-(v - 24.8573 + 10) / 11.9541)) + 0.1427) * \
        (5.9589 / (1 + np.exp((v + 10.5428 + 10) / 8.0552)) + 0.6038)
    np.testing.assert_allclose(r["m"][1], tm, rtol=1e-12)
    np.testing.assert_allclose(r["h"][0], hinf, rtol=1e-12)
    r = K.rates("cca1", v, load_kinetics("cca1").values(), np)
    th = (280 / (1 + np.exp((v + 60.7312 + 15) / (8.5224 * 1.1))) + 19.7456) * 0.08
    np.testing.assert_allclose(r["h"][1], th, rtol=1e-12)


def test_slo_nanodomain_matches_2019_equations():
    v = np.array([-30.0, 0.0, 30.0])
    pr = K.rates("egl19", v, load_kinetics("egl19").values(), np)
    m_ca = np.array([0.1, 0.5, 0.9])
    r = K.rates("slo1_egl19", v, load_kinetics("slo1").values(), np, partner_rates=pr,
                partner_m=m_ca, E_Ca=60.0, nanodomain=load_kinetics("nanodomain").values())
    cao = (np.abs(40e-12 * (v - 60) * 1e-3) / (8 * np.pi * 13e-9 * 250e-12 * 96485)
           * np.exp(-13e-9 / np.sqrt(250e-12 / (500e6 * 30e-6))) * 1e6 * 1e-3) + 0.05
    kcm = 3.152961 * np.exp(-0.012643 * v) / (1 + (0.05 / 34.338784) ** 0.0001)
    kom = 3.152961 * np.exp(-0.012643 * v) / (1 + (cao / 34.338784) ** 0.0001)
    kop = 0.156217 * np.exp(0.027527 * v) / (1 + (55.726816 / cao) ** 1.299198)
    a = pr["m"][0] / pr["m"][1]
    b = 1 / pr["m"][1] - a
    den = (kop + kom) * (kcm + a) + b * kcm
    np.testing.assert_allclose(r["m"][0], m_ca * kop * (a + b + kcm) / den, rtol=1e-12)
    np.testing.assert_allclose(r["m"][1], (a + b + kcm) / den, rtol=1e-12)


def test_missing_context_and_unknown_channel():
    with pytest.raises(K.KineticsError, match="ca_i"):
        K.rates("kcnl", V, load_kinetics("kcnl").values(), np)
    with pytest.raises(K.KineticsError, match="unknown channel"):
        K.rates("nope", V, {}, np)
    with pytest.raises(K.KineticsError, match="missing kinetic constant"):
        K.rates("shl1", V, {}, np)


def test_torch_matches_numpy_and_differentiates():
    torch = pytest.importorskip("torch")
    from celegans.cells import load_cell

    for name in ("RMD", "AWCon", "AIY", "VB", "HH1952"):
        cell = load_cell(name)
        vn = np.array([-70.0, -40.0, -10.0])
        sn = K.initial_state(cell, vn, np)
        # perturb states away from steady state so derivatives are non-zero
        sn = {k: v * 0.9 + 0.01 for k, v in sn.items()}
        dn, in_ = K.derivatives(cell, sn, vn, np)
        vt = torch.tensor(vn, dtype=torch.float64)
        st = {k: torch.tensor(v, dtype=torch.float64) for k, v in sn.items()}
        g = torch.tensor(cell.values["g_leak"], dtype=torch.float64, requires_grad=True)
        dt_, it = K.derivatives(cell, st, vt, torch, values={"g_leak": g})
        np.testing.assert_allclose(it.detach().numpy(), in_, rtol=1e-10, atol=1e-12)
        for k in dn:
            np.testing.assert_allclose(dt_[k].detach().numpy(), dn[k], rtol=1e-9, atol=1e-15)
        it.sum().backward()
        # dI/dg_leak = sum(V - E_leak)
        assert g.grad.item() == pytest.approx(float(np.sum(vn - cell.values["E_leak"])))


def test_hh_rates_finite_at_removable_singularity():
    p = load_kinetics("hh_na").values()
    r = K.rates("hh_na", np.array([-40.0, -40.0 + 1e-9]), p, np)
    assert np.all(np.isfinite(r["m"][0]))
    assert r["m"][0][0] == pytest.approx(r["m"][0][1], rel=1e-6)


def test_calcium_shell_floor_and_influx():
    vals = {"ca_shell.F": 96485.0, "ca_shell.depth": 0.1, "ca_shell.beta": 1.0,
            "ca_shell.ca_min": 1e-4, "area_um2": 100.0}
    ca = np.array([1e-4, 1e-4, 5e-4])
    i_ca = np.array([0.0, -2.0, 0.0])  # pA (inward negative)
    d = K.shell_calcium_derivative(i_ca, ca, vals, np)
    assert d[0] == 0.0  # held at the floor
    assert d[1] == pytest.approx(2.0 * 1e3 / (2 * 96485.0 * 0.1 * 100.0) - 1e-4)
    assert d[2] == pytest.approx(-5e-4)


def test_pool_calcium_only_inward_current_loads():
    vals = {"ca_pool.f": 0.001, "ca_pool.F": 96.485, "volume_um3": 5.65, "ca_pool.tau": 50.0,
            "ca_pool.ca_bg": 5e-5}
    d_out = K.calcium_derivative(np.array(3.0), np.array(5e-5), vals)
    d_in = K.calcium_derivative(np.array(-3.0), np.array(5e-5), vals)
    assert d_out == 0.0
    assert d_in == pytest.approx(0.001 * 3.0 / (2 * 96.485 * 5.65))
