TITLE KCNL (SK) Ca-activated K current (celegans)
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
    SUFFIX ce_kcnl
    NONSPECIFIC_CURRENT i
    USEION ca READ cai
    RANGE g, e, i
    RANGE kd, tau
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
    kd = 0.00033
    tau = 6.3
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
    UNITSOFF
    minf = cai / (kd + cai)
    tau_m = tau
    UNITSON
}
