TITLE SHL-1 (Kv4) K current (celegans)
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
    SUFFIX ce_shl1
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE p, va, ka, shift, vi, ki, tm1, tm2, tm3, tm4, tm5, tm6, tm_scale, thf1, thf2, thf3, thf4, thf_scale, ths1, ths2, ths3, ths4, ths_scale, a
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
    p = 3.0
    va = 11.2
    ka = 14.1
    shift = 18.0
    vi = -33.1
    ki = 8.3
    tm1 = 13.8
    tm2 = -17.5165
    tm3 = 12.9213
    tm4 = -3.7082
    tm5 = 6.4876
    tm6 = 1.8849
    tm_scale = 0.1
    thf1 = 539.1584
    thf2 = -28.199
    thf3 = 4.9199
    thf4 = 27.2811
    thf_scale = 0.1
    ths1 = 8422.0
    ths2 = -37.7391
    ths3 = 6.3785
    ths4 = 118.8983
    ths_scale = 0.1
    a = 0.7
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    minf
    tau_m (ms)
    hfinf
    tau_hf (ms)
    hsinf
    tau_hs (ms)
}

STATE { m hf hs }

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * pow(m, p) * (a * hf + (1 - a) * hs) * (v - e)
}

INITIAL {
    rates(v)
    m = minf
    hf = hfinf
    hs = hsinf

}

DERIVATIVE states {
    rates(v)
    m' = (minf - m) / tau_m
    hf' = (hfinf - hf) / tau_hf
    hs' = (hsinf - hs) / tau_hs

}

PROCEDURE rates(v (mV)) {
    UNITSOFF
    minf = 1 / (1 + exp(-(v - va + shift) / ka))
    tau_m = (tm1 / (exp(-(v - tm2) / tm3) + exp((v - tm4) / tm5)) + tm6) * tm_scale
    hfinf = 1 / (1 + exp((v - vi + shift) / ki))
    hsinf = hfinf
    tau_hf = (thf1 / (1 + exp((v - thf2) / thf3)) + thf4) * thf_scale
    tau_hs = (ths1 / (1 + exp((v - ths2) / ths3)) + ths4) * ths_scale
    UNITSON
}
