"""BluePyOpt/eFEL peer for bench_single_cell.py: evaluations per second of the same HH cell.

Builds the one-compartment HH cell with bluepyopt.ephys (NEURON's ``hh`` mechanism, tables
off), one 1-s current-step protocol and eFEL features (spike count, mean frequency, AP
amplitude), then evaluates N parameter sets sequentially (one process) as an optimiser would.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np


def _soma_morphology(diam: float, folder: str):
    """A one-point SWC soma: NEURON's Import3d makes a cylinder with L = diam."""
    import os

    import bluepyopt.ephys as ephys

    path = os.path.join(folder, "soma_only.swc")
    with open(path, "w") as fh:
        fh.write(f"1 1 0 0 0 {diam / 2.0} -1\n")
    return ephys.morphologies.NrnFileMorphology(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-evals", type=int, default=20)
    a = ap.parse_args()
    import bluepyopt.ephys as ephys
    from neuron import h

    pb = np.load(a.problem)
    dt, dur = float(pb["dt"]), float(pb["duration"])
    area = float(pb["area_um2"])
    diam = math.sqrt(area / math.pi)
    somatic = ephys.locations.NrnSeclistLocation("somatic", seclist_name="somatic")
    hh = ephys.mechanisms.NrnMODMechanism(name="hh", suffix="hh", locations=[somatic])
    params = [
        ephys.parameters.NrnSectionParameter(name=f"{n}_hh", param_name=f"{n}_hh",
                                             bounds=[0.0, 1.0], locations=[somatic])
        for n in ("gnabar", "gkbar", "gl")
    ] + [ephys.parameters.NrnSectionParameter(name="cm", param_name="cm", value=1.0,
                                              frozen=True, locations=[somatic]),
         ephys.parameters.NrnSectionParameter(name="el_hh", param_name="el_hh",
                                              value=float(pb["eLeak"]), frozen=True,
                                              locations=[somatic])]
    morph = _soma_morphology(diam, os.path.dirname(os.path.abspath(a.out)))
    cell = ephys.models.CellModel(name="hh1952", morph=morph, mechs=[hh], params=params)
    soma_loc = ephys.locations.NrnSeclistCompLocation(name="soma", seclist_name="somatic",
                                                      sec_index=0, comp_x=0.5)
    stim = ephys.stimuli.NrnSquarePulse(step_amplitude=float(pb["amp_pA"]) * 1e-3,
                                        step_delay=float(pb["t_on"]),
                                        step_duration=float(pb["t_off"]) - float(pb["t_on"]),
                                        location=soma_loc, total_duration=dur)
    rec = ephys.recordings.CompRecording(name="step.soma.v", location=soma_loc, variable="v")
    proto = ephys.protocols.SweepProtocol("step", [stim], [rec])
    feats = []
    for fname in ("Spikecount", "mean_frequency", "AP_amplitude"):
        efeat = ephys.efeatures.eFELFeature(
            f"step.{fname}", efel_feature_name=fname, recording_names={"": "step.soma.v"},
            stim_start=float(pb["t_on"]), stim_end=float(pb["t_off"]), exp_mean=1.0,
            exp_std=1.0)
        feats.append(ephys.objectives.SingletonObjective(fname, efeat))
    calc = ephys.objectivescalculators.ObjectivesCalculator(feats)
    sim = ephys.simulators.NrnSimulator(dt=dt, cvode_active=False)
    h.usetable_hh = 0
    h.celsius = 6.3
    h.v_init = float(pb["v_init"])
    ev = ephys.evaluators.CellEvaluator(cell_model=cell, param_names=[p.name for p in params[:3]],
                                        fitness_protocols={"step": proto},
                                        fitness_calculator=calc, sim=sim)
    # area-specific conductances (S/cm2)
    n = min(a.n_evals, len(pb["gNa"]))
    X = [[float(pb["gNa"][i]), float(pb["gK"][i]), float(pb["gLeak"][i])] for i in range(n)]
    ev.evaluate_with_lists(X[0])  # warm-up (mechanism loading)
    t0 = time.perf_counter()
    for x in X:
        ev.evaluate_with_lists(x)
    el = time.perf_counter() - t0
    with open(a.out, "w") as fh:
        json.dump({"n_evals": n, "seconds": el, "evals_per_s": n / el}, fh)


if __name__ == "__main__":
    main()
