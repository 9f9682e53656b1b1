TITLE Intracellular Ca pool (celegans)
COMMENT
Nicoletti et al. 2019 PLoS ONE 14:e0218738: d ca_i/dt = f max(-I_Ca, 0) / (2 F vol) - (ca_i - ca_bg)/tau
with I_Ca the total Ca current of the cell (pA), vol in um3 and F in C/mmol (pA/(C/mmol um3) = mM/ms).
Here I_Ca (pA) = ica (mA/cm2) * area (um2) * 10 ; area_um2 and volume_um3 are set by
celegans.nrn.hh_cell. Writes cai (mM); carries no current.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ce_capool
    USEION ca READ ica WRITE cai
    RANGE f, tau, ca_bg, F, area_um2, volume_um3
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
}

PARAMETER {
    f = 0.001
    tau = 50.0 (ms)
    ca_bg = 5e-05 (mM)
    F = 96.485
    area_um2 = 100
    volume_um3 = 1
}

ASSIGNED {
    ica (mA/cm2)
}

STATE { cai (mM) }

INITIAL {
    cai = ca_bg
}

BREAKPOINT {
    SOLVE pool METHOD cnexp
}

DERIVATIVE pool {
    LOCAL ipa
    UNITSOFF
    ipa = ica * area_um2 * 10
    if (ipa < 0) {
        cai' = -f * ipa / (2 * F * volume_um3) - (cai - ca_bg) / tau
    } else {
        cai' = -(cai - ca_bg) / tau
    }
    UNITSON
}
