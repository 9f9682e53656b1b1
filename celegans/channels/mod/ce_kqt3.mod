TITLE KQT-3 (KCNQ) K current (celegans)
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
    SUFFIX ce_kqt3
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE va, ka, shift, tmf1, tmf2, tmf3, tms1, tms2, tms3, tms4, tms5, tms6, tms7, tau_scale, w1, w2, w3, w4, tw1, tw2, tw3, tw4, s1, s2, s3, s4, ts, a
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
    va = -12.6726
    ka = 15.8008
    shift = 10.0
    tmf1 = 395.3
    tmf2 = 38.1
    tmf3 = 33.59
    tms1 = 5503.0
    tms2 = 5345.4
    tms3 = -0.02827
    tms4 = -23.9
    tms5 = 4590.6
    tms6 = -0.0357
    tms7 = 14.15
    tau_scale = 0.1
    w1 = 0.49
    w2 = 0.51
    w3 = 1.084
    w4 = 28.78
    tw1 = 5.44
    tw2 = 29.2
    tw3 = 48.09
    tw4 = 48.83
    s1 = 0.34
    s2 = 0.66
    s3 = 45.3
    s4 = 12.3
    ts = 5000.0
    a = 0.3
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    mfinf
    tau_mf (ms)
    msinf
    tau_ms (ms)
    winf
    tau_w (ms)
    sinf
    tau_s (ms)
}

STATE { mf ms w s }

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * (a * mf + (1 - a) * ms) * w * s * (v - e)
}

INITIAL {
    rates(v)
    mf = mfinf
    ms = msinf
    w = winf
    s = sinf

}

DERIVATIVE states {
    rates(v)
    mf' = (mfinf - mf) / tau_mf
    ms' = (msinf - ms) / tau_ms
    w' = (winf - w) / tau_w
    s' = (sinf - s) / tau_s

}

PROCEDURE rates(v (mV)) {
    UNITSOFF
    mfinf = 1 / (1 + exp(-(v - va + shift) / ka))
    msinf = mfinf
    tau_mf = tmf1 / (1 + ((v + tmf2) / tmf3) ^ 2) * tau_scale
    tau_ms = (tms1 - tms2 / (1 + pow(10, tms3 * (tms4 - v))) - tms5 / (1 + pow(10, tms6 * (v + tms7)))) * tau_scale
    winf = w1 + w2 / (1 + exp((v + w3) / w4))
    tau_w = (tw1 + tw2 / (1 + ((v + tw3) / tw4) ^ 2)) * tau_scale
    sinf = s1 + s2 / (1 + exp((v + s3) / s4))
    tau_s = ts * tau_scale
    UNITSON
}
