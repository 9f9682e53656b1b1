TITLE Submembrane Ca shell with a floor (celegans)
COMMENT
Nicoletti et al. 2024 PLoS ONE 19:e0298105 (cadiff.mod, after ModelDB 48332), as a continuous-time ODE:
d ca_i/dt = -ica * 1e4 / (2 F depth) - beta ca_i   (ica in mA/cm2, depth in um, F in C/mol -> mM/ms)
held at ca_i >= ca_min: each time step is solved exactly (ica held over the step) and then
projected back onto ca_i >= ca_min, which equals the floored ODE to first order in dt. Writes cai (mM); carries no current.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ce_cashell
    USEION ca READ ica WRITE cai
    RANGE depth, beta, ca_min, F
}

UNITS {
    (mA) = (milliamp)
    (mM) = (milli/liter)
}

PARAMETER {
    depth = 0.1
    beta = 1.0
    ca_min = 0.0001 (mM)
    F = 96485.0
}

ASSIGNED {
    ica (mA/cm2)
}

STATE { cai (mM) }

INITIAL {
    cai = ca_min
}

BREAKPOINT {
    SOLVE shell
}

PROCEDURE shell() {
    : exact exponential step of cai' = a - beta cai over dt (ica held), then the floor
    LOCAL a, cinf
    UNITSOFF
    a = -ica * 1e4 / (2 * F * depth)
    cinf = a / beta
    cai = cinf + (cai - cinf) * exp(-beta * dt)
    if (cai < ca_min) {
        cai = ca_min
    }
    UNITSON
}
