COMMENT
Body-wall muscle activation (docs/architecture.md):
  da/dt = (clip((v - vrest)/(vsat - vrest), 0, 1) - a)/tau. Carries no current.
ENDCOMMENT
NEURON {
    THREADSAFE
    SUFFIX ce_mact
    RANGE vrest, vsat, tau, a
}
UNITS { (mV) = (millivolt) }
PARAMETER { vrest = -35 (mV) vsat = -15 (mV) tau = 20 (ms) }
ASSIGNED { v (mV) }
STATE { a }
INITIAL { a = target(v) }
BREAKPOINT { SOLVE states METHOD cnexp }
DERIVATIVE states { a' = (target(v) - a)/tau }
FUNCTION target(x (mV)) {
    LOCAL r
    r = (x - vrest)/(vsat - vrest)
    if (r < 0) { r = 0 }
    if (r > 1) { r = 1 }
    target = r
}
