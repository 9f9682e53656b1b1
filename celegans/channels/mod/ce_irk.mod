TITLE IRK inward-rectifier K current (celegans)
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
    SUFFIX ce_irk
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE va, ka, shift, tm1, tm2, tm3, tm4, tm5, tm6
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
    va = -52.0
    ka = 13.0
    shift = 30.0
    tm1 = 17.0752
    tm2 = -17.8258
    tm3 = 20.3154
    tm4 = -43.4414
    tm5 = 11.1691
    tm6 = 3.8329
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
    minf = 1 / (1 + exp((v - va + shift) / ka))
    tau_m = tm1 / (exp(-(v - tm2) / tm3) + exp((v - tm4) / tm5)) + tm6
    UNITSON
}
