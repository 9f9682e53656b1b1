COMMENT
Graded chemical synapse, one per (pre, post) pair (docs/architecture.md):
  I = g s (v_post - esyn).
The activation s obeys ds/dt = (s_inf(V_pre) - s)/tau with s_inf = 1/(1 + exp(-(V_pre - vth)/delta));
tau, vth and delta are shared by all synapses, so s depends only on the presynaptic neuron and is
integrated once per presynaptic neuron by the density mechanism ce_synout (ce_synout.mod).
spre is that presynaptic s, set each step by ParallelContext target_var (thread safe, no
POINTER). g in nS (converted to uS for NEURON's nA).
ENDCOMMENT
NEURON {
    THREADSAFE
    POINT_PROCESS CeGradedSyn
    NONSPECIFIC_CURRENT i
    RANGE g, esyn, spre
}
UNITS { (nA) = (nanoamp) (mV) = (millivolt) }
PARAMETER {
    g = 0 (1)
    esyn = 0 (mV)
}
ASSIGNED { v (mV) i (nA) spre }
BREAKPOINT { i = 0.001 * g * spre * (v - esyn) }
