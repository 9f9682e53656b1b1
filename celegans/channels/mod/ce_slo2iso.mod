TITLE SLO-2 not coupled to a Ca channel, bulk-Ca gated (celegans)
COMMENT
Nicoletti et al. 2019 PLoS ONE 14:e0218738 (model equations; RMD.ode/AWC.ode, ModelDB 267187) (genetic-algorithm fit)
Equations: see celegans/channels/kinetics.py (the same equations for numpy/torch) and the
kinetic constants' data file(s) in celegans/channels/data/. Conductance density g in S/cm2
(celegans.nrn.hh_cell converts the cell file's nS with the membrane area); every kinetic
constant is a RANGE variable set from the YAML data by celegans.nrn.hh_cell.
Written for the celegans package (own implementation of the published equations).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ce_slo2iso
    NONSPECIFIC_CURRENT i
    USEION ca READ cai
    RANGE g, e, i
    RANGE wom, wyx, kyx, nyx, wop, wxy, kxy, nxy, tau_scale
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
    (mM) = (milli/liter)
}

PARAMETER {
    g = 0 (S/cm2)
    e = 0 (mV)
    wom = 0.896395
    wyx = 0.019405
    kyx = 3294.553404
    nyx = 1e-05
    wop = 0.026719
    wxy = -0.024123
    kxy = 93.449423
    nxy = 1.835067
    tau_scale = 1.0
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    minf
    tau_m (ms)
    cai (mM)
}

STATE { m }

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * m * (v - e)
}

INITIAL {
    rates(v)
    m = minf

}

DERIVATIVE states {
    rates(v)
    m' = (minf - m) / tau_m

}

PROCEDURE rates(v (mV)) {
    LOCAL s0, v0, ca
    UNITSOFF
    ca = cai * 1000
    s0 = 1 / (wyx - wxy)
    v0 = s0 * (log(wom / wop) + log(1 + pow(kxy / ca, nxy)) - log(1 + pow(ca / kyx, nyx)))
    minf = 1 / (1 + exp(-(v - v0) / s0))
    tau_m = exp(wxy * v) / wop * (1 + pow(kxy / ca, nxy)) * minf * tau_scale
    UNITSON
}
