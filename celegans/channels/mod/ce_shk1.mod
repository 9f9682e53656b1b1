TITLE SHK-1 (Kv1) K current (celegans)
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
    SUFFIX ce_shk1
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE va, ka, shift, tm1, tm2, tm3, tm4, tm5, vi, ki, th
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
    va = 20.4
    ka = 7.7
    shift = 0.0
    tm1 = 26.571450568169027
    tm2 = -33.74161180071613
    tm3 = 15.757936311607475
    tm4 = 15.364937728953288
    tm5 = 1.990037272604829
    vi = -6.95
    ki = 5.8
    th = 1400.0
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    minf
    tau_m (ms)
    hinf
    tau_h (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * m * h * (v - e)
}

INITIAL {
    rates(v)
    m = minf
    h = hinf

}

DERIVATIVE states {
    rates(v)
    m' = (minf - m) / tau_m
    h' = (hinf - h) / tau_h

}

PROCEDURE rates(v (mV)) {
    UNITSOFF
    minf = 1 / (1 + exp(-(v - va + shift) / ka))
    tau_m = tm1 / (exp(-(v - (tm2 + shift)) / tm4) + exp((v - (tm2 + shift)) / tm3)) + tm5
    hinf = 1 / (1 + exp((v - vi + shift) / ki))
    tau_h = th
    UNITSON
}
