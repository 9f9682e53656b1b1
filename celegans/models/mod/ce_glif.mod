COMMENT
GLIF-style leaky integrate-and-fire with two after-spike currents (Teeter et al. 2018).
Used with the section's `pas` leak. Threshold V >= vth: v <- vreset, I_j <- I_j + a_j, then V is
held at vreset for tref (stiff clamp gclamp, then exact reset at the end). Current convention:
i = I1 + I2 (outward positive), i.e. C dV/dt = ... - sum_j I_j.
ENDCOMMENT
NEURON {
    THREADSAFE
    POINT_PROCESS CeGLIF
    NONSPECIFIC_CURRENT i
    RANGE vth, vreset, tref, a1, tau1, a2, tau2, I1, I2, refractory, gclamp, nspikes
}
UNITS { (nA) = (nanoamp) (mV) = (millivolt) (uS) = (microsiemens) }
PARAMETER {
    vth = -50 (mV)
    vreset = -65 (mV)
    tref = 2 (ms)
    a1 = 0 (nA)
    tau1 = 10 (ms)
    a2 = 0 (nA)
    tau2 = 100 (ms)
    gclamp = 0 (uS)
}
ASSIGNED { v (mV) i (nA) refractory nspikes }
STATE { I1 (nA) I2 (nA) }
INITIAL {
    I1 = 0
    I2 = 0
    refractory = 0
    nspikes = 0
    net_send(0, 1)
}
BREAKPOINT {
    SOLVE states METHOD cnexp
    i = I1 + I2 + refractory * gclamp * (v - vreset)
}
DERIVATIVE states {
    I1' = -I1/tau1
    I2' = -I2/tau2
}
NET_RECEIVE (w) {
    if (flag == 1) {
        WATCH (v > vth) 2
    } else if (flag == 2) {
        if (refractory == 0) {
            v = vreset
            I1 = I1 + a1
            I2 = I2 + a2
            nspikes = nspikes + 1
            refractory = 1
            net_send(tref, 3)
        }
    } else if (flag == 3) {
        refractory = 0
        v = vreset
    }
}
