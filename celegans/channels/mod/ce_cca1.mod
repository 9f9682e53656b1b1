TITLE CCA-1 T-type Ca current (celegans)
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
    SUFFIX ce_cca1
    USEION ca WRITE ica
    RANGE g, e
    RANGE va, ka, shift_m, ka_factor, tm1, tm2, tm3, tm_factor, tm_shift, tm4, tm_scale, vi, ki, shift_h, ki_factor, th1, th2, th3, th_factor, th_shift, th4, th_scale
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
    va = -42.65
    ka = 1.7
    shift_m = 15.0
    ka_factor = 1.4
    tm1 = 40.0
    tm2 = -62.5393
    tm3 = -12.4758
    tm_factor = 1.7
    tm_shift = 30.0
    tm4 = 0.6947
    tm_scale = 0.5
    vi = -58.0
    ki = 7.0
    shift_h = 15.0
    ki_factor = 1.15
    th1 = 280.0
    th2 = -60.7312
    th3 = 8.5224
    th_factor = 1.1
    th_shift = 15.0
    th4 = 19.7456
    th_scale = 0.08
}

ASSIGNED {
    v (mV)
    ica (mA/cm2)
    minf
    tau_m (ms)
    hinf
    tau_h (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    ica = g * m * m * h * (v - e)
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
    minf = 1 / (1 + exp(-(v - va + shift_m) / (ka * ka_factor)))
    tau_m = (tm1 / (1 + exp(-(v - tm2 + tm_shift) / (tm3 * tm_factor))) + tm4) * tm_scale
    hinf = 1 / (1 + exp((v - vi + shift_h) / (ki * ki_factor)))
    tau_h = (th1 / (1 + exp((v - th2 + th_shift) / (th3 * th_factor))) + th4) * th_scale
    UNITSON
}
