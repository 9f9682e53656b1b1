"""Fit a single-neuron model to a current-clamp recording with the level-1 fitter.

    python examples/fit_neuron_recording.py [path/to/recording.npz] [run_folder]

Defaults to the AIY recording in ../shared/data/ephys (if present). Two sweeps are held out;
the run folder gets traces over targets per sweep, the Pareto front, parameter distributions and
``fitted.yaml`` (a ParameterSet the network can load).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fitting import fit_neuron  # noqa: E402
from fitting.targets import load_recording  # noqa: E402

default = Path(__file__).resolve().parents[2] / "shared/data/ephys/AIYL_current_clamp.npz"
path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("runs/example_fit")
if not path.exists():
    sys.exit(f"recording {path} not found")
rec = load_recording(path).resample(2.0)
res = fit_neuron(rec, "passive", fit=["C", "g_L", "E_L"],
                 bounds={"C": (0.5, 200.0), "g_L": (0.01, 5.0), "E_L": (-80.0, -10.0)},
                 backend="torch", dt_ms=1.0, algorithm="nsga2", pop_size=16, max_evals=96,
                 test_sweeps=[2, 8], run_dir=out)
print("fitted:", res.best)
print(f"RMSE fit {res.summary['rmse_train']:.2f} mV, held out {res.summary['rmse_test']:.2f} mV")
print("parameter file:", out / "fitted.yaml")
