TITLE EGL-19 L-type Ca current with coupled SLO-1/SLO-2 (celegans)
COMMENT
Nicoletti et al. 2019 PLoS ONE 14:e0218738. The Ca channel and the SLO-1 / SLO-2 channels coupled
to it 1:1 through the Ca nanodomain at its mouth live in one mechanism, so the coupling needs no
POINTER. Ca current: g * m * h * (v - e) written to ica. SLO currents (nonspecific, reversal e_k):
g_slo1 * slo1 * h * (v - e_k) + g_slo2 * slo2 * h * (v - e_k). SLO gating (2019 eqs.):
alpha = minf/tau_m, beta = 1/tau_m - alpha of the Ca channel; ca_nano = |gsc (v - e) 1e-3| /
(8 pi r D F) exp(-r / sqrt(D / (kb b_tot))) 1e3 + ca_bg (uM); kcm, kom, kop as in kinetics.py;
slo_inf = m * kop (alpha + beta + kcm) / den, tau = (alpha + beta + kcm) / den.
Conductance densities in S/cm2. Equations identical to celegans/channels/kinetics.py.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ce_egl19
    USEION ca WRITE ica
    NONSPECIFIC_CURRENT i
    RANGE g, e, g_slo1, g_slo2, e_k, i, i_slo1, i_slo2
    RANGE va, ka, shift, tm1, tm2, tm3, tm4, tm5, tm6, tm7, tm_scale, h1, h2, h3, h4, h5, h6, h7, h8, th1, th2, th3, th4, th5, th6, th7, th8, th9, th10, th11, slo1_wom, slo1_wyx, slo1_kyx, slo1_nyx, slo1_wop, slo1_wxy, slo1_kxy, slo1_nxy, slo1_tau_scale, slo2_wom, slo2_wyx, slo2_kyx, slo2_nyx, slo2_wop, slo2_wxy, slo2_kxy, slo2_nxy, slo2_tau_scale, nd_r, nd_D, nd_F, nd_kb, nd_b_tot, nd_gsc, nd_ca_bg
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    g = 0 (S/cm2)
    e = 60 (mV)
    g_slo1 = 0 (S/cm2)
    g_slo2 = 0 (S/cm2)
    e_k = -80 (mV)
    va = 5.6
    ka = 7.5
    shift = 10.0
    tm1 = 2.3359
    tm2 = 2.9324
    tm3 = 5.2357
    tm4 = 6.0
    tm5 = 1.8739
    tm6 = 1.393
    tm7 = 30.0
    tm_scale = 1.0
    h1 = 1.4314
    h2 = 24.8573
    h3 = 11.9541
    h4 = 0.1427
    h5 = 5.9589
    h6 = -10.5428
    h7 = 8.0552
    h8 = 0.6038
    th1 = 0.4
    th2 = 0.55
    th3 = 81.1179
    th4 = -22.9723
    th5 = 5.0
    th6 = 43.0937
    th7 = 0.9
    th8 = 40.4885
    th9 = 28.7251
    th10 = 3.7125
    th11 = 0.0
    slo1_wom = 3.152961
    slo1_wyx = 0.012643
    slo1_kyx = 34.338784
    slo1_nyx = 0.0001
    slo1_wop = 0.156217
    slo1_wxy = -0.027527
    slo1_kxy = 55.726816
    slo1_nxy = 1.299198
    slo1_tau_scale = 1.0
    slo2_wom = 0.896395
    slo2_wyx = 0.019405
    slo2_kyx = 3294.553404
    slo2_nyx = 1e-05
    slo2_wop = 0.026719
    slo2_wxy = -0.024123
    slo2_kxy = 93.449423
    slo2_nxy = 1.835067
    slo2_tau_scale = 1.0
    nd_r = 1.3e-08
    nd_D = 2.5e-10
    nd_F = 96485.0
    nd_kb = 500000000.0
    nd_b_tot = 3e-05
    nd_gsc = 4e-11
    nd_ca_bg = 0.05
}

ASSIGNED {
    v (mV)
    ica (mA/cm2)
    i (mA/cm2)
    i_slo1 (mA/cm2)
    i_slo2 (mA/cm2)
    minf
    hinf
    tau_m (ms)
    tau_h (ms)
    slo1inf
    slo2inf
    tau_slo1 (ms)
    tau_slo2 (ms)
}

STATE { m h slo1 slo2 }

BREAKPOINT {
    SOLVE states METHOD cnexp
    ica = g * m * h * (v - e)
    i_slo1 = g_slo1 * slo1 * h * (v - e_k)
    i_slo2 = g_slo2 * slo2 * h * (v - e_k)
    i = i_slo1 + i_slo2
}

INITIAL {
    rates(v, -1)
    m = minf
    h = hinf
    rates(v, m)
    slo1 = slo1inf
    slo2 = slo2inf
}

DERIVATIVE states {
    rates(v, m)
    m' = (minf - m) / tau_m
    h' = (hinf - h) / tau_h
    slo1' = (slo1inf - slo1) / tau_slo1
    slo2' = (slo2inf - slo2) / tau_slo2
}

PROCEDURE rates(v (mV), mstate) {
    LOCAL alpha, beta, cao, kcm, kom, kop, den, mcur
    UNITSOFF
    minf = 1 / (1 + exp(-(v - va + shift) / ka))
    tau_m = (tm1 + tm2 * exp(-((v - tm3 + shift) / tm4) ^ 2) + tm5 * exp(-((v - tm6 + shift) / tm7) ^ 2)) * tm_scale
    hinf = (h1 / (1 + exp(-(v - h2 + shift) / h3)) + h4) * (h5 / (1 + exp((v - h6 + shift) / h7)) + h8)
    tau_h = th1 * (th2 * th3 / (1 + exp((v - th4 + shift) / th5)) + th6 + th7 * th8 / (1 + exp((v - th9 + shift) / th10)) + th11)
    if (mstate < 0) {
        mcur = minf
    } else {
        mcur = mstate
    }
    alpha = minf / tau_m
    beta = 1 / tau_m - alpha
    cao = fabs(nd_gsc * (v - e) * 1e-3) / (8 * 3.141592653589793 * nd_r * nd_D * nd_F) * exp(-nd_r / sqrt(nd_D / (nd_kb * nd_b_tot))) * 1e3 + nd_ca_bg
    kcm = slo1_wom * exp(-slo1_wyx * v) / (1 + pow(nd_ca_bg / slo1_kyx, slo1_nyx))
    kom = slo1_wom * exp(-slo1_wyx * v) / (1 + pow(cao / slo1_kyx, slo1_nyx))
    kop = slo1_wop * exp(-slo1_wxy * v) / (1 + pow(slo1_kxy / cao, slo1_nxy))
    den = (kop + kom) * (kcm + alpha) + beta * kcm
    slo1inf = mcur * kop * (alpha + beta + kcm) / den
    tau_slo1 = (alpha + beta + kcm) / den
    kcm = slo2_wom * exp(-slo2_wyx * v) / (1 + pow(nd_ca_bg / slo2_kyx, slo2_nyx))
    kom = slo2_wom * exp(-slo2_wyx * v) / (1 + pow(cao / slo2_kyx, slo2_nyx))
    kop = slo2_wop * exp(-slo2_wxy * v) / (1 + pow(slo2_kxy / cao, slo2_nxy))
    den = (kop + kom) * (kcm + alpha) + beta * kcm
    slo2inf = mcur * kop * (alpha + beta + kcm) / den
    tau_slo2 = (alpha + beta + kcm) / den
    UNITSON
}
