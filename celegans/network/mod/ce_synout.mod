COMMENT
Presynaptic activation of graded chemical synapses (docs/architecture.md):
  ds/dt = (s_inf(v) - s)/tau,  s_inf = 1/(1 + exp(-(v - vth)/delta)),
integrated once per presynaptic neuron (on its soma); every CeGradedSyn of that neuron reads s
through ParallelContext source_var/target_var. Carries no current.
ENDCOMMENT
NEURON {
    THREADSAFE
    SUFFIX ce_synout
    RANGE vth, delta, tau, s
}
UNITS { (mV) = (millivolt) }
PARAMETER {
    vth = -35 (mV)
    delta = 8 (mV)
    tau = 40 (ms)
}
ASSIGNED { v (mV) }
STATE { s }
INITIAL { s = sinf(v) }
BREAKPOINT { SOLVE states METHOD cnexp }
DERIVATIVE states { s' = (sinf(v) - s)/tau }
FUNCTION sinf(x (mV)) { sinf = 1/(1 + exp(-(x - vth)/delta)) }
