COMMENT
Morris-Lecar calcium and potassium currents (Morris & Lecar 1981; Rinzel & Ermentrout 1998):
  i = gca m_inf(v) (v - eca) + gk w (v - ek)
  m_inf = (1 + tanh((v - v1)/v2))/2, w_inf = (1 + tanh((v - v3)/v4))/2,
  tau_w = tauw0 / cosh((v - v3)/(2 v4)), dw/dt = (w_inf - w)/tau_w.
Leak is the section's `pas`. Conductance densities in S/cm2 (converted from nS by the caller).
ENDCOMMENT
NEURON {
    THREADSAFE
    SUFFIX ceml
    NONSPECIFIC_CURRENT i
    RANGE gca, gk, eca, ek, v1, v2, v3, v4, tauw0
}
UNITS { (mA) = (milliamp) (mV) = (millivolt) (S) = (siemens) }
PARAMETER {
    gca = 0 (S/cm2)
    gk = 0 (S/cm2)
    eca = 120 (mV)
    ek = -84 (mV)
    v1 = -1.2 (mV)
    v2 = 18 (mV)
    v3 = 2 (mV)
    v4 = 30 (mV)
    tauw0 = 25 (ms)
}
ASSIGNED { v (mV) i (mA/cm2) }
STATE { w }
INITIAL { w = winf(v) }
BREAKPOINT {
    SOLVE states METHOD cnexp
    i = gca * 0.5 * (1 + tanh((v - v1)/v2)) * (v - eca) + gk * w * (v - ek)
}
DERIVATIVE states {
    w' = (winf(v) - w) * cosh((v - v3)/(2*v4)) / tauw0
}
FUNCTION winf(v (mV)) { winf = 0.5 * (1 + tanh((v - v3)/v4)) }
