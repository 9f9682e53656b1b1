TITLE KVS-1 K current (celegans)
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
    SUFFIX ce_kvs1
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE va, ka, shift, tm1, tm2, tm3, tm4, tm_scale, vi, ki, th1, th2, th3, th4, th_scale
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
    va = 57.1
    ka = 25.0
    shift = 30.0
    tm1 = 30.0
    tm2 = 18.1232
    tm3 = -20.0
    tm4 = 1.0
    tm_scale = 0.1
    vi = 47.3
    ki = 11.1
    th1 = 88.4715
    th2 = 50.0
    th3 = -15.0
    th4 = 53.406
    th_scale = 0.1
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
    tau_m = (tm1 / (1 + exp(-(v - tm2) / tm3)) + tm4) * tm_scale
    hinf = 1 / (1 + exp((v - vi + shift) / ki))
    tau_h = (th1 / (1 + exp(-(v - th2) / th3)) + th4) * th_scale
    UNITSON
}
