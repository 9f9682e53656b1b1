COMMENT
One side of an ohmic gap junction: I_a = g (V_b - V_a), i.e. outward i = g (v - vgap).
g in nS; vgap is the partner's voltage, set each step by ParallelContext target_var.
ENDCOMMENT
NEURON {
    THREADSAFE
    POINT_PROCESS CeGap
    NONSPECIFIC_CURRENT i
    RANGE g, vgap
}
UNITS { (nA) = (nanoamp) (mV) = (millivolt) }
PARAMETER { g = 0 (1) }
ASSIGNED { v (mV) i (nA) vgap (mV) }
BREAKPOINT { i = 0.001 * g * (v - vgap) }
