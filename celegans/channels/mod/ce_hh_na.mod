TITLE Hodgkin-Huxley 1952 Na current (celegans)
COMMENT
Hodgkin & Huxley 1952 J Physiol 117:500 (modern sign convention, rest -65 mV)
Equations: see celegans/channels/kinetics.py (the same equations for numpy/torch) and the
kinetic constants' data file(s) in celegans/channels/data/. Conductance density g in S/cm2
(celegans.nrn.hh_cell converts the cell file's nS with the membrane area); every kinetic
constant is a RANGE variable set from the YAML data by celegans.nrn.hh_cell.
Written for the celegans package (own implementation of the published equations).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ce_hh_na
    NONSPECIFIC_CURRENT i
    RANGE g, e, i
    RANGE q10, temp
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
    q10 = 3.0
    temp = 6.3
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
    i = g * m * m * m * h * (v - e)
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
    LOCAL q, am, bm, ah, bh
    UNITSOFF
    q = pow(q10, (temp - 6.3) / 10)
    am = 0.1 * vtrap(v + 40, 10)
    bm = 4 * exp(-(v + 65) / 18)
    ah = 0.07 * exp(-(v + 65) / 20)
    bh = 1 / (1 + exp(-(v + 35) / 10))
    minf = am / (am + bm)
    tau_m = 1 / (q * (am + bm))
    hinf = ah / (ah + bh)
    tau_h = 1 / (q * (ah + bh))
    UNITSON
}

FUNCTION vtrap(x, y) {
    : x / (1 - exp(-x / y)), with its limit y at x = 0
    if (fabs(x / y) < 1e-6) {
        vtrap = y * (1 + x / y / 2)
    } else {
        vtrap = x / (1 - exp(-x / y))
    }
}
