TITLE KQT-1 (KCNQ) K current (celegans)
COMMENT
Nicoletti et al. 2024 PLoS ONE 19:e0298105 (model code, CelegansInterMotorNeuronsModels) kqt1.mod
Equations: see celegans/channels/kinetics.py (the same equations for numpy/torch) and the
kinetic constants' data file(s) in celegans/channels/data/. Conductance density g in S/cm2
(celegans.nrn.hh_cell converts the cell file's nS with the membrane area); every kinetic
constant is a RANGE variable set from the YAML data by celegans.nrn.hh_cell.
Written for the celegans package (own implementation of the published equations).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ce_kqt1
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE va, ka, tm1, tm2, tm3, tm4, s1, s2, s3, s4, s5, s6, ts1, ts2, ts3, ts4
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
    va = -17.6053
    ka = 9.5843
    tm1 = 10.0
    tm2 = 895.9
    tm3 = -18.01
    tm4 = 31.04
    s1 = 0.41
    s2 = -86.84
    s3 = 15.05
    s4 = 0.59
    s5 = 70.13
    s6 = 13.37
    ts1 = 1077.0
    ts2 = 185845.0
    ts3 = 39.44
    ts4 = 7.34
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    minf
    tau_m (ms)
    sinf
    tau_s (ms)
}

STATE { m s }

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * m * s * (v - e)
}

INITIAL {
    rates(v)
    m = minf
    s = sinf

}

DERIVATIVE states {
    rates(v)
    m' = (minf - m) / tau_m
    s' = (sinf - s) / tau_s

}

PROCEDURE rates(v (mV)) {
    UNITSOFF
    minf = 1 / (1 + exp(-(v - va) / ka))
    tau_m = tm2 / (1 + exp(-(v - tm3) / tm4)) + tm1
    sinf = s1 / (1 + exp((v - s2) / s3)) + s4 / (1 + exp((v - s5) / s6))
    tau_s = ts1 + ts2 / (1 + ((v - ts3) / ts4) ^ 2)
    UNITSON
}
