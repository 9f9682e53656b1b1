TITLE EGL-2 (EAG) K current (celegans)
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
    SUFFIX ce_egl2
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE va, ka, shift, tm1, tm2, tm3, tm4, tm_scale
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
    va = -6.8594
    ka = 14.9131
    shift = 0.0
    tm1 = 16.78
    tm2 = -122.5682
    tm3 = 13.7976
    tm4 = 8.0969
    tm_scale = 0.5
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    minf
    tau_m (ms)
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
    minf = 1 / (1 + exp(-(v - va + shift) / ka))
    tau_m = (tm1 / (1 + exp((v - tm2 + shift) / tm3)) + tm4) * tm_scale
    UNITSON
}
