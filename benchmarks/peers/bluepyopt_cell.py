"""BluePyOpt/eFEL peer for a C. elegans ``hh`` cell (e.g. RMD): evaluations per second.

Runs inside the BluePyOpt venv (``~/.cache/celegans/bench_peers/bluepyopt``, which reuses the
system NEURON). Reads a problem written by ``cell_problem.write_problem`` (JSON, with the path
of the project's compiled mechanism library), loads that library into NEURON and builds the
cell with ``bluepyopt.ephys``: a one-point SWC soma (cylinder, L = diam = sqrt(area/pi)), one
``NrnMODMechanism`` per mechanism of the cell (``ce_*``, the SLO complexes inside their
calcium channel's mechanism, ``ce_capool``), every number of the cell's equations set as a
frozen ``NrnSectionParameter`` (densities ``0.1 g_nS / area_um2`` S/cm2, cm ``100 C_pF /
area_um2`` uF/cm2, as ``celegans.nrn.hh_cell``), the conductances ``g_<channel>`` free. One
current-step protocol and eFEL features suited to graded/plateau cells; N parameter sets are
evaluated sequentially (one process) as an optimiser would. The first sets' traces are written
too (untimed), for the RMSE against the celegans NEURON backend.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cell_problem import cell_like, load_kinetics, read_problem, require  # noqa: E402

FEATURES = ("voltage_base", "steady_state_voltage_stimend", "voltage_deflection",
            "Spikecount")


def nrn_parameters(prob, K) -> tuple[dict[str, float], dict[str, str]]:
    """``({neuron_param_name: value}, {g_<channel>: neuron_param_name})`` for the cell, in the
    order ``celegans.nrn.hh_cell.build_hh_section`` sets them (later names win)."""
    cell = cell_like(prob)
    vals = cell.values
    area = vals["area_um2"]
    out: dict[str, float] = {"cm": 100.0 * vals["C_pF"] / area}
    free: dict[str, str] = {}
    for c in cell.channels:
        spec = K.CHANNELS[c]
        mech = spec.mechanism
        g = 0.1 * vals[f"g_{c}"] / area
        E = vals[K.REVERSAL_BY_ION[spec.ion]]
        if spec.partner is None:
            out[f"g_{mech}"] = g
            free[f"g_{c}"] = f"g_{mech}"
            out[f"e_{mech}"] = E
            for k, v in K.group_params(vals, spec.group).items():
                out[f"{k}_{mech}"] = v
            if mech in ("ce_egl19", "ce_unc2"):
                out.setdefault(f"g_slo1_{mech}", 0.0)
                out.setdefault(f"g_slo2_{mech}", 0.0)
                out[f"e_k_{mech}"] = vals["E_K"]
                for k, v in K.group_params(vals, "nanodomain").items():
                    out[f"nd_{k}_{mech}"] = v
        else:
            pre = spec.group  # slo1 / slo2
            out[f"g_{pre}_{mech}"] = g
            free[f"g_{c}"] = f"g_{pre}_{mech}"
            out[f"e_k_{mech}"] = E
            for k, v in K.group_params(vals, spec.group).items():
                out[f"{pre}_{k}_{mech}"] = v
    if cell.calcium == "pool":
        for k, v in K.group_params(vals, "ca_pool").items():
            out[f"{k}_ce_capool"] = v
        out["area_um2_ce_capool"] = area
        out["volume_um3_ce_capool"] = vals["volume_um3"]
    elif cell.calcium == "shell":
        for k, v in K.group_params(vals, "ca_shell").items():
            out[f"{k}_ce_cashell"] = v
    elif cell.calcium != "none":
        raise SystemExit(f"bluepyopt peer: calcium model {cell.calcium!r} not implemented")
    return out, free


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problem", required=True, help="JSON from cell_problem.write_problem")
    ap.add_argument("--out", required=True, help="output JSON")
    ap.add_argument("--n-evals", type=int, default=10)
    a = ap.parse_args()
    require("bluepyopt", "bluepyopt")
    require("efel", "bluepyopt")
    require("neuron", "bluepyopt")
    import bluepyopt.ephys as ephys
    from neuron import h

    prob = read_problem(a.problem)
    K = load_kinetics(prob["kinetics_path"])
    lib = prob.get("nrn_mech_lib")
    if not lib or not Path(lib).is_file():
        sys.exit(f"bluepyopt peer: problem has no compiled mechanism library ({lib!r}); write "
                 "it with cell_problem.write_problem(..., with_mechanisms=True)")
    if h.nrn_load_dll(str(lib)) != 1:
        sys.exit(f"bluepyopt peer: NEURON could not load {lib}")
    if prob["holding_pA"] != 0.0:
        sys.exit("bluepyopt peer: a holding current is not implemented")
    vals = prob["values"]
    dt, dur = prob["dt"], prob["duration"]
    area = vals["area_um2"]
    cell = cell_like(prob)

    somatic = ephys.locations.NrnSeclistLocation("somatic", seclist_name="somatic")
    mechs = sorted({K.CHANNELS[c].mechanism for c in cell.channels})
    if cell.calcium in ("pool", "shell"):
        mechs.append(f"ce_ca{cell.calcium}")
    mechanisms = [ephys.mechanisms.NrnMODMechanism(name=m, suffix=m, locations=[somatic])
                  for m in mechs]
    fixed, free = nrn_parameters(prob, K)
    missing = [g for g in prob["g_names"] if g not in free]
    if missing:
        sys.exit(f"bluepyopt peer: conductances {missing} are not channels of the cell")
    free_names = [free[g] for g in prob["g_names"]]
    params = [ephys.parameters.NrnSectionParameter(name=n, param_name=n, bounds=[0.0, 1.0],
                                                   locations=[somatic]) for n in free_names]
    params += [ephys.parameters.NrnSectionParameter(name=n, param_name=n, value=v, frozen=True,
                                                    locations=[somatic])
               for n, v in fixed.items() if n not in free_names]
    params += [ephys.parameters.NrnGlobalParameter(name="v_init", param_name="v_init",
                                                   value=vals["v_init"], frozen=True),
               ephys.parameters.NrnGlobalParameter(name="cai0_ca_ion",
                                                   param_name="cai0_ca_ion",
                                                   value=vals["ca_pool.ca_bg"], frozen=True)]
    folder = os.path.dirname(os.path.abspath(a.out))
    swc = os.path.join(folder, "soma_only.swc")
    with open(swc, "w") as fh:
        fh.write(f"1 1 0 0 0 {math.sqrt(area / math.pi) / 2.0} -1\n")
    morph = ephys.morphologies.NrnFileMorphology(swc)
    model = ephys.models.CellModel(name=f"ce_{cell.name}", morph=morph, mechs=mechanisms,
                                   params=params)
    soma = ephys.locations.NrnSeclistCompLocation(name="soma", seclist_name="somatic",
                                                  sec_index=0, comp_x=0.5)
    stim = ephys.stimuli.NrnSquarePulse(step_amplitude=prob["amp_pA"] * 1e-3,
                                        step_delay=prob["t_on"],
                                        step_duration=prob["t_off"] - prob["t_on"],
                                        location=soma, total_duration=dur)
    rec = ephys.recordings.CompRecording(name="step.soma.v", location=soma, variable="v")
    proto = ephys.protocols.SweepProtocol("step", [stim], [rec])
    objectives = []
    for fname in FEATURES:
        feat = ephys.efeatures.eFELFeature(
            f"step.{fname}", efel_feature_name=fname, recording_names={"": "step.soma.v"},
            stim_start=prob["t_on"], stim_end=prob["t_off"], exp_mean=1.0, exp_std=1.0)
        objectives.append(ephys.objectives.SingletonObjective(fname, feat))
    calc = ephys.objectivescalculators.ObjectivesCalculator(objectives)
    sim = ephys.simulators.NrnSimulator(dt=dt, cvode_active=False)
    ev = ephys.evaluators.CellEvaluator(cell_model=model, param_names=free_names,
                                        fitness_protocols={"step": proto},
                                        fitness_calculator=calc, sim=sim)
    dens = prob["g_sets_nS"] * 0.1 / area
    n = min(a.n_evals, len(dens))
    X = [list(map(float, row)) for row in dens[:n]]
    ev.evaluate_with_lists(X[0])  # warm-up (mechanisms, morphology reader)
    t0 = time.perf_counter()
    scores = [ev.evaluate_with_lists(x) for x in X]
    el = time.perf_counter() - t0
    # traces of the first sets (untimed)
    traces, t_ms = [], None
    for x in X[: prob["n_keep"]]:
        resp = ev.run_protocols([proto], dict(zip(free_names, x, strict=True)))
        r = resp["step.soma.v"]
        t_ms = np.asarray(r.response["time"], dtype=float)
        traces.append(np.asarray(r.response["voltage"], dtype=float))
    # responses may hold a sample per recorded step; keep the common length
    m = min(len(tr) for tr in traces)
    out = {"n_evals": n, "seconds": el, "evals_per_s": n / el, "features": list(FEATURES),
           "scores_first": [list(map(float, s)) for s in scores[:3]],
           "time_ms": t_ms[:m].tolist(), "v": [tr[:m].tolist() for tr in traces]}
    tmp = Path(a.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
