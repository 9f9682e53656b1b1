TITLE Hodgkin-Huxley 1952 K current (celegans)
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
    SUFFIX ce_hh_k
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
    ninf
    tau_n (ms)
}

STATE { n }

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * n * n * n * n * (v - e)
}

INITIAL {
    rates(v)
    n = ninf

}

DERIVATIVE states {
    rates(v)
    n' = (ninf - n) / tau_n

}

PROCEDURE rates(v (mV)) {
    LOCAL q, an, bn
    UNITSOFF
    q = pow(q10, (temp - 6.3) / 10)
    an = 0.01 * vtrap(v + 55, 10)
    bn = 0.125 * exp(-(v + 65) / 80)
    ninf = an / (an + bn)
    tau_n = 1 / (q * (an + bn))
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
