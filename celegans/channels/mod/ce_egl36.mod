TITLE EGL-36 (Kv3) K current (celegans)
COMMENT
Nicoletti et al. 2019 PLoS ONE 14:e0218738 (model equations; RMD.ode/AWC.ode, ModelDB 267187)
Equations: see celegans/channels/kinetics.py (the same equations for numpy/torch) and the
kinetic constants' data file(s) in celegans/channels/data/. Conductance density g in S/cm2
(celegans.nrn.hh_cell converts the cell file's nS with the membrane area); every kinetic
constant is a RANGE variable set from the YAML data by celegans.nrn.hh_cell.
Written for the celegans package (own implementation of the published equations).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ce_egl36
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE va, ka, t1, t2, t3, a1, a2, a3
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
    va = 63.0
    ka = 28.5
    t1 = 355.0
    t2 = 63.0
    t3 = 13.0
    a1 = 0.31
    a2 = 0.36
    a3 = 0.39
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    m1inf
    tau_m1 (ms)
    m2inf
    tau_m2 (ms)
    m3inf
    tau_m3 (ms)
}

STATE { m1 m2 m3 }

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * (a1 * m1 + a2 * m2 + a3 * m3) * (v - e)
}

INITIAL {
    rates(v)
    m1 = m1inf
    m2 = m2inf
    m3 = m3inf

}

DERIVATIVE states {
    rates(v)
    m1' = (m1inf - m1) / tau_m1
    m2' = (m2inf - m2) / tau_m2
    m3' = (m3inf - m3) / tau_m3

}

PROCEDURE rates(v (mV)) {
    UNITSOFF
    m1inf = 1 / (1 + exp(-(v - va) / ka))
    m2inf = m1inf
    m3inf = m1inf
    tau_m1 = t1
    tau_m2 = t2
    tau_m3 = t3
    UNITSON
}
