"""Reproduce the default organism parameters (``data/default_organism.yaml``).

How the defaults were obtained (all runs: full 302-neuron loop, NEURON backend, seed 0):

1. Hand-set, from measurements this module can repeat: the resting network was made quiet
   (passive neurons C = 15 pF, g_L = 5 nS, E_L = -50 mV; ``network.syn_V_th`` = -25 mV,
   ``syn_Delta`` = 5 mV) so that B-type motor neurons control the muscles; the tonic current
   the network (with the AVB forward command, 1000 pA) gives each B-type neuron was measured
   (``--measure-drive``: median 40 pA, -1 pA without AVB) and the bistable Morris-Lecar window
   of VB/DB (g_K = 0) was placed around it (g_L = 3 nS, E_L = -70 mV, V1 = -30, V2 = 6 mV).
2. Grid search (6 s per run on agar and in water, first 2 s discarded) over the
   stretch-receptor gain, the receptive-field length and the B-type capacitance (grid
   ``{"stretch_gain_pA": [2000, 3000], "stretch_field_rows": [6, 9, 12], "B.C": [15, 60]}``);
   the score is
   the log-distance of frequency and wavelength to Fang-Yen et al. 2010 (Table 1: agar
   0.30 Hz / 0.65 L, buffer 1.76 Hz / 1.54 L) plus penalties for backward or no movement and
   for agar speeds outside 0.1-0.3 mm/s. An earlier grid (gain 1500/3000/6000 x rows
   6/9/12 x g_Ca 1.0/1.5 nS) had chosen g_Ca = 1.5 nS; this grid then chose gain 2000,
   6 rows, C = 60 pF.
3. Final check of the window width at that point: g_Ca 1.5 / 1.75 / 2.0 nS scored
   2.70 / 2.41 / 5.9 at gain 2000 (2.0 nS: agar amplitude collapses, slow backward drift)
   and 3.03 / 2.49 (1.5 / 1.75 nS) at gain 3000 on 6-s runs, but with 1.75 nS the 8-s agar
   run of the behaviour tests drifted backward at 0.03 mm/s, so g_Ca = 1.5 nS, gain 2000 was
   kept (robust forward crawling preferred over the better score). Reproduce with
   ``--grid '{"B.g_Ca": [1.5, 1.75, 2.0], "stretch_gain_pA": [2000, 3000]}'``.

4. Why the water wave was nearly standing (wavelength ~7 L) and the fix. The B-type units are
   relaxation oscillators coupled through posterior receptive fields; in a phase-locked state
   every unit with a full field needs the same loop lag, so the phase gradient along the body is
   set only by units that differ: those whose fields are cut short by the tail. When those
   fields read the *mean* strain of the rows that exist (``stretch_tail_compensation`` = 1),
   the tail units are as fast as the others, pace the chain, and every unit switches nearly in
   phase (standing wave in water, where the body follows its muscles within ~0.1 s). Summing
   the rows that exist (p = 0: a shorter process senses less body; Boyle, Berri & Cohen 2012
   compensate only partially, p = 0.5) leaves the tail units with less input, more hysteresis
   lag and a lower intrinsic frequency, so the wave runs from the head. The grid below
   (6 s runs) chose p = 0, gain 2000 pA: water wavelength 7.2 -> 3.7 L, agar unchanged.
   Lower gains (800-1250 pA) shorten the water wave further because the hysteresis lag then
   differs more between tail and body: with ``network.muscle_tau_act`` = 5 ms (the body already
   filters activation with tau_M = 100 ms), D-type cross-inhibition made effective
   (``network.mult.chemical`` DB.VD = VB.DD = 5, VD.VB = 10) and ``start_pulse_pA`` = 200 for
   100 ms, gain 800 / 1000 pA gave water 1.49 Hz / 1.81 L and 1.60 Hz / 2.08 L (0.12 mm/s).
   But from such coherent starts agar falls into a static, co-contracted posture, and without
   the pulse (agar then crawls: 0.47 Hz / 0.40 L / 0.13 mm/s at 1000 pA) only the anterior
   units oscillate in water (amplitude 2.6/mm, 0.015 mm/s), so they are not the default.
   Pulsed starts also stall agar at gain 2000 with seed 1.
   Reproduce the grid with ``--grid '{"stretch_tail_compensation": [0, 0.5, 1],
   "stretch_gain_pA": [1750, 2000]}'``.
5. Why agar crawling stalled after ~9 s (20-s runs: 0.57 Hz / 0.125 mm/s at 2-6 s, 0.25 Hz /
   0.004 mm/s at 14-20 s) and the fix. ``--measure-drive`` shows that the connectome's AVB-B
   gap contacts give the B-type units tonic drives from -4 pA (VB1) to 122 pA (VB2) against a
   bistable window of -55..82 pA: VB2 and DB1 were (almost) always on, bent the body statically
   and on agar, where the posture relaxes over seconds, drifted the loop into a static,
   co-contracted posture. ``meta.bias_pA`` (column bias_pA of ``--measure-drive``:
   :func:`equalising_bias`) puts every unit at the median drive, as every unit of Boyle, Berri
   & Cohen 2012 gets the same AVB current; crawling is then sustained (16-s behaviour test).
   Those always-on units had also been what started the loop (and why AVB ablation stopped
   it), so the forward command now starts with a transient (``start_pulse_pA`` = 2000 pA for
   ``start_pulse_ms`` = 100 ms into AVB): pulses straight into B-type units started the loop
   too, but then it ran without AVB (the stretch input sustains it once started), organised
   the agar gait only after ~6 s (all DB) or failed to start water (DB1 alone). With bias and
   pulse in place, the step-4 grid (6-s runs) again picks p = 0, 2000 pA (score
   2.05: agar 0.56 Hz / 0.42 L / 0.119 mm/s, water 1.58 Hz / 3.73 L; p = 1: water 7.44 L).
6. Why agar crawling still stalled after ~14-18 s (seed 0, 20-s runs: 0.53 Hz / 0.131 mm/s
   at 8-14 s, 0.20 Hz / 0.044 mm/s at 14-20 s) and the fix. Muscle rows 1-6 (head and neck)
   have no B-type motor neurons and their motor neurons were passive and silent, so the head
   was never actuated; on agar the passive head relaxes over minutes and slowly built a
   ventral bend until the gait stopped. The dorsal and ventral RMD head motor neurons
   (:data:`HEAD_UNITS`) are now units like the B-type ones (same bistable model, stretch input
   from their own side, bias to the median drive: ``--measure-drive --settings
   '{"head_units": 1}'``, which now measures without the start pulse; with it every drive was
   ~3x too high). Two connectome details mattered: (a) the RMD dorsal <-> ventral chemical
   synapses (22-43 contacts, excitatory by the transmitter rule) latched RMDD on (seed 0 0.126
   mm/s but RMDDL always at -10..6 mV; seed 1 0.058 mm/s), so ``network.mult.chemical.RMD.RMD``
   = 0; (b) with the head actuated, seed 1 started in a static co-contracted posture (2-8 s:
   0.008 mm/s, then crawling) because D-type cross-inhibition was below its synaptic
   threshold: ``network.mult.chemical`` DB.VD = VB.DD = 5 and VD.VB = 10 (the values an
   earlier search had found to make it effective, step 4) bring VD/DD to -40..-10 mV, and
   both seeds then crawl from the start (12-s runs, seed 1 2-6 s: 0.168 mm/s). Stretch gain
   1500 pA (instead of 2000) lost seed 1 (static co-contraction). Reproduce with
   ``--duration 20 --seeds 0,1 --grid '{"head_units": [0, 1],
   "network.mult.chemical.RMD.RMD": [0, 1]}'`` (the agar score now also penalises a last
   third slower than 0.1 mm/s, and a candidate scores its worst seed).
7. Receptive-field length, revisited (:data:`GRID`). With the head actuated and D-type
   cross-inhibition effective, the longer fields that had failed in step 2 now crawl, and
   they slow the agar gait and lengthen its wave toward Fang-Yen et al. 2010 (runs of
   10-20 s, seed 0; agar / water): 6 rows 0.61 Hz 0.43 L 0.18 mm/s / 1.57 Hz 3.56 L;
   9 rows 0.42 Hz 0.59 L 0.18 mm/s / 1.46 Hz 2.93 L; 10 rows (agar only) 0.38 Hz 0.64 L;
   11 rows 0.34 Hz 0.70 L / 1.40 Hz 2.77 L; 12 rows 0.30 Hz 0.75 L / 1.37 Hz 2.73 L. But
   from 10 rows on the agar gait organises slowly from rest (2-6 s: 0.07 / 0.05 / 0.06
   mm/s for 10 / 11 / 12 rows, against 0.14 mm/s at 9 rows; 12 rows: no wave yet). 9 rows
   was kept: it starts at once for seeds 0 and 1 and is sustained to 20 s (seed 1: 0.42 Hz
   / 0.59 L / 0.19 mm/s at 14-20 s). At 9 rows a lower stretch gain (1500 pA) shortens the
   water wave (2.93 -> 2.34 L, 1.37 Hz) but again delays the agar start (seed 1, 2-6 s:
   0.046 mm/s), so 2000 pA was kept. A longer field gives each
   unit a larger phase lag behind the body it reads, which lowers the frequency on agar
   (where the drag-limited body bends slowly) and lengthens the wave.

    python -m celegans.organism.tune_defaults --measure-drive
    python -m celegans.organism.tune_defaults --duration 12 --seeds 0,1 --workers 2 \
        --out tune.json
    python -m celegans.organism.tune_defaults --write   # also rewrite the default YAML
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import multiprocessing as mp
import sys
import time
from typing import Any

import numpy as np

TARGETS = {"agar": {"frequency_hz": 0.30, "wavelength": 0.65},
           "water": {"frequency_hz": 1.76, "wavelength": 1.54}}
SPEED_RANGE = (0.1, 0.3)  # mm/s on agar

#: grid searched (names: B-neuron model parameters ``B.<name>``, organism parameters, and
#: ``network.*`` overrides)
GRID: dict[str, list[float]] = {
    "stretch_field_rows": [6.0, 9.0, 12.0],
}
B_CLASSES = ("VB", "DB")
#: head motor neurons made proprioceptive bistable units (step 6): side of the body they
#: innervate (RMDD -> dorsal rows 1-6, RMDV -> ventral rows 1-7 in the connectome)
HEAD_UNITS = {"RMDDL": "dorsal", "RMDDR": "dorsal", "RMDVL": "ventral", "RMDVR": "ventral"}


def make_config(settings: dict[str, float], base: Any = None) -> Any:
    """The default config with ``settings`` applied. Names: ``B.<param>`` (B-type model
    parameter), ``H.<param>`` (head units' model parameter), ``head_units`` (1: RMDD/RMDV
    as units, 0: passive), ``bias.<neuron>`` (its ``meta.bias_pA``), ``AVB_B_gap``, numeric
    organism parameters and ``network.*`` overrides (see :data:`GRID`)."""
    from celegans.organism.config import OrganismConfig, load_config
    from celegans.parameters import Parameter

    cfg = base if base is not None else load_config()
    asg = copy.deepcopy(cfg.assignment)
    prop = dict(cfg.proprioception)
    bias = dict(cfg.bias)
    numeric: dict[str, float] = {}
    ps = cfg.parameters
    settings = dict(settings)
    if "head_units" in settings:  # 1: RMDD/RMDV as B-type-like units, 0: passive (step 6)
        on = bool(settings.pop("head_units"))
        neurons = asg.setdefault("neurons", {})
        for name, side in HEAD_UNITS.items():
            if on:
                neurons[name] = copy.deepcopy(asg["classes"][B_CLASSES[0]])
                prop[name] = side
            else:
                neurons.pop(name, None)
                prop.pop(name, None)
                bias.pop(name, None)
        if not neurons:
            asg.pop("neurons")
    for key, val in settings.items():
        if key.startswith("B."):
            for cls in B_CLASSES:
                asg["classes"][cls]["params"][key[2:]] = float(val)
        elif key.startswith("H."):  # head units' model parameters
            for name in HEAD_UNITS:
                asg["neurons"][name]["params"][key[2:]] = float(val)
        elif key.startswith("bias."):  # bias_pA of one neuron
            bias[key[5:]] = float(val)
        elif key == "AVB_B_gap":  # AVB -> VB and DB gap junctions together
            for cls in B_CLASSES:
                ps = copy.deepcopy(ps)
                ps.add(Parameter(f"network.mult.gap.AVB.{cls}", float(val), "1", (0.0, 100.0),
                                 source="fitted by tune_defaults (AVB -> B-type gap multiplier)",
                                 certainty="fitted"))
        elif key in ps:
            numeric[key] = float(val)
        elif key.startswith("network."):
            ps = copy.deepcopy(ps)
            ps.add(Parameter(key, float(val), "1", (0.0, 100.0),
                             source="fitted by tune_defaults", certainty="fitted"))
        else:
            raise KeyError(key)
    ps = ps.updated(numeric) if numeric else ps
    return OrganismConfig(ps, cfg.dataset, asg, prop, dict(cfg.command),
                          cfg.sensory, cfg.origin, bias, cfg.start_pulse_neurons)


def evaluate(settings: dict[str, float], medium: str, duration_s: float,
             seed: int = 0) -> dict[str, float]:
    """Gait summary of one closed-loop run (first 2 s discarded)."""
    from celegans.organism.errors import SimulationBlowUp
    from celegans.organism.loop import Organism
    from env import metrics

    cfg = make_config(settings)
    org = Organism(cfg, medium, seed=seed)
    rec_t, rec_cl = [], []

    def on(s: dict) -> None:
        rec_t.append(s["time"])
        rec_cl.append(s["centreline"])

    t0 = time.perf_counter()
    failed = ""
    try:
        org.run(duration_s, on)
    except SimulationBlowUp as exc:
        failed = str(exc)
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"medium": medium, "failed": failed, "wall_s": wall,
                           "realtime": duration_s / wall, **settings}
    if len(rec_t) > 50:
        t, cl = np.array(rec_t), np.array(rec_cl)
        g = metrics.gait_summary(cl, t, discard_s=min(2.0, duration_s / 3))
        out.update(g.as_dict())
        late = t >= t[-1] - duration_s / 3  # last third: is the gait sustained?
        out["late_speed_mm_s"] = float(
            metrics.gait_summary(cl[late], t[late], discard_s=0.0).as_dict()["speed_mm_s"])
    return out


def measure_b_drive(settings: dict[str, float] | None = None, v_hold: float = -40.0,
                    ablate_avb: bool = False) -> dict[str, float]:
    """Tonic network current (pA) into each proprioceptive unit (B-type, and the head units
    when configured) held at ``v_hold`` mV (straight body, command inputs on): these neurons
    are replaced by stiff passive cells (g_L = 100 nS, E_L = v_hold) and the current is read
    from their voltage deviation. This is what positions the bistable window (see the YAML
    provenance)."""
    import connectome_data as cd
    from celegans.network import NetworkSpec
    from celegans.nrn.network import NrnNetwork
    from celegans.organism.sensing import Transducer

    cfg = make_config(settings or {})
    cfg.bias = {}  # the network's own drive, without the compensating bias currents
    if "start_pulse_pA" in cfg.parameters:  # the steady drive, without the start transient
        cfg = cfg.updated({"start_pulse_pA": 0.0})
    con = cd.load(cfg.dataset)
    asg = copy.deepcopy(cfg.assignment)
    g_hold = 100.0
    stiff = {"model": "passive", "params": {"C": 100.0, "g_L": g_hold, "E_L": v_hold}}
    for cls in B_CLASSES:
        asg["classes"][cls] = stiff
    units = {n for n in cfg.proprioception if n in con.neurons}  # per-neuron entries
    for name in units:
        asg.setdefault("neurons", {})[name] = stiff
    keep = [n for n in con.neurons if not (ablate_avb and con.neuron(n).cls == "AVB")]
    spec = NetworkSpec.from_connectome(con, asg, cfg.network_overrides(
        {con.neuron(n).cls for n in keep}), neurons=keep)
    net = NrnNetwork(spec, dt_ms=cfg.value("neural_dt_ms"))
    net.reset()
    tr = Transducer(cfg, con, spec.neurons)
    flat = {"stretch_dorsal": np.zeros(24), "stretch_ventral": np.zeros(24),
            "touch_anterior": np.zeros(1), "touch_posterior": np.zeros(1)}
    net.advance(500.0, tr.inputs(flat, 1e-3))
    v = net.voltages()
    return {n: float(g_hold * (v[i] - v_hold)) for i, n in enumerate(spec.neurons)
            if spec.classes[i] in B_CLASSES or n in units}


def equalising_bias(drive: dict[str, float]) -> dict[str, float]:
    """``meta.bias_pA`` of the default: per B-type neuron, median drive minus its own drive
    (rounded to 0.1 pA), so every unit sits at the same point of its bistable window."""
    med = float(np.median(list(drive.values())))
    return {n: round(med - v, 1) for n, v in sorted(drive.items())}


def score(agar: dict, water: dict) -> float:
    """Lower is better (see module docstring). Agar runs whose last third crawls slower than
    the published range (a stalling gait, step 6) are penalised like slow runs."""
    s = 0.0
    late = agar.get("late_speed_mm_s")
    if late is not None and late < SPEED_RANGE[0]:
        s += 2.0 * (SPEED_RANGE[0] - late) / SPEED_RANGE[0]
    for res, med in ((agar, "agar"), (water, "water")):
        f, lam = res.get("frequency_hz", 0.0), res.get("wavelength_body_lengths", math.nan)
        if not (f > 0 and math.isfinite(lam)):
            s += 10.0
            continue
        s += abs(math.log(f / TARGETS[med]["frequency_hz"]))
        s += abs(math.log(lam / TARGETS[med]["wavelength"]))
        if res.get("wave_direction", 0) != 1 or res.get("forward_fraction", 0.0) < 0.5:
            s += 3.0
    v = agar.get("speed_mm_s", 0.0)
    if v < SPEED_RANGE[0]:
        s += 2.0 * (SPEED_RANGE[0] - v) / SPEED_RANGE[0]
    elif v > SPEED_RANGE[1]:
        s += (v - SPEED_RANGE[1]) / SPEED_RANGE[1]
    return s


def _job(args: tuple) -> dict:
    settings, medium, duration, seed = args
    try:
        return evaluate(settings, medium, duration, seed)
    except Exception as exc:  # a failed candidate is a result, not a crash of the search
        return {"medium": medium, "failed": f"{type(exc).__name__}: {exc}", **settings}


def grid_points(grid: dict[str, list[float]]) -> list[dict[str, float]]:
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*grid.values())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=8.0, help="simulated s per run")
    ap.add_argument("--workers", type=int, default=max(1, mp.cpu_count() - 1))
    ap.add_argument("--grid", type=str, default=None, help="JSON grid overriding GRID")
    ap.add_argument("--out", type=str, default="tune_defaults.json")
    ap.add_argument("--write", action="store_true", help="rewrite the default YAML with the best")
    ap.add_argument("--measure-drive", action="store_true",
                    help="only print the tonic current into each B-type neuron (with and "
                         "without AVB) and exit")
    ap.add_argument("--seeds", type=str, default="0",
                    help="comma-separated seeds; a candidate's score is its worst seed's")
    ap.add_argument("--settings", type=str, default=None,
                    help="JSON settings (GRID names) applied before --measure-drive")
    args = ap.parse_args(argv)
    if args.measure_drive:
        base = json.loads(args.settings) if args.settings else {}
        on, off = measure_b_drive(base), measure_b_drive(base, ablate_avb=True)
        bias = equalising_bias(on)
        print("neuron  I_net(-40 mV) pA: with AVB, AVB ablated; bias_pA (median - with AVB)")
        for n in on:
            print(f"{n:6s} {on[n]:8.1f} {off[n]:8.1f} {bias[n]:8.1f}")
        print(f"median  {np.median(list(on.values())):8.1f} {np.median(list(off.values())):8.1f}")
        return 0
    grid = json.loads(args.grid) if args.grid else GRID
    points = grid_points(grid)
    seeds = [int(x) for x in args.seeds.split(",")]
    jobs = [(p, m, args.duration, sd) for p in points for sd in seeds for m in ("agar", "water")]
    print(f"{len(points)} candidates x {len(seeds)} seeds x 2 media, {args.workers} workers",
          file=sys.stderr)
    from tqdm import tqdm

    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        results = list(tqdm(pool.imap(_job, jobs), total=len(jobs), desc="tune"))
    rows = []
    for i, p in enumerate(points):
        per_seed = [(results[2 * (i * len(seeds) + k)], results[2 * (i * len(seeds) + k) + 1])
                    for k in range(len(seeds))]
        # the worst seed decides (a gait that works for one random posture only is not kept)
        k_worst = int(np.argmax([score(a, w) for a, w in per_seed]))
        agar, water = per_seed[k_worst]
        rows.append({"settings": p, "score": score(agar, water), "agar": agar, "water": water,
                     "worst_seed": seeds[k_worst]})
    rows.sort(key=lambda r: r["score"])
    from celegans.io import write_json

    write_json(args.out, rows)
    for r in rows[:10]:
        line = [f"{r['score']:.2f} {r['settings']}"]
        for med in ("agar", "water"):
            x = r[med]
            line.append(f"{med} f={x.get('frequency_hz', 0):.2f} "
                        f"lam={x.get('wavelength_body_lengths', math.nan):.2f} "
                        f"v={x.get('speed_mm_s', 0):.3f} dir={x.get('wave_direction')}"
                        + (f" late v={x['late_speed_mm_s']:.3f}" if "late_speed_mm_s" in x
                           else ""))
        print(" | ".join(line))
    if args.write and rows:
        write_defaults(rows[0]["settings"])
    return 0


def write_defaults(settings: dict[str, float]) -> None:
    """Rewrite ``default_organism.yaml`` with ``settings`` (sources say fitted by this script)."""
    from celegans.organism.config import DEFAULT_ORGANISM_FILE

    cfg = make_config(settings)
    ps = cfg.parameters
    ps.meta = dict(ps.meta)
    ps.meta["assignment"] = cfg.assignment
    ps.meta["proprioception"] = dict(cfg.proprioception)
    ps.meta["bias_pA"] = dict(cfg.bias)
    ps.save(DEFAULT_ORGANISM_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
