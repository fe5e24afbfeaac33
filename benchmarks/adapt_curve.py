"""Adaptation loss against adaptation step, for trained models of a finished workflow run.

For each trained run named on the command line (``backbone/variant/seed`` of ``--experiment``),
loads ``results/runs/.../model.eqx`` and the experiment's ``adapt_train`` split from
``--results`` and adapts the contexts of the new environments exactly as the adapt rule does
(``mixer.experiment.adapt_run``, the config's adaptation settings, ``--steps`` steps). Prints
the mean adaptation loss (Eq. 7 on ``adapt_train``; no test data) at every ``--every`` steps
and its ratio to the loss at the last step, and writes the curves as JSON (``--out``)::

    python benchmarks/adapt_curve.py --results /path/to/results --experiment odebench2 \\
        ncf/mixer2/0 geps/mixer1/0 --steps 600 --every 50 --out adapt_ob2.json

Used to plan ``models.adaptation.steps`` of the default config from the fitting loss alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from time_to_quality import load_config

from mixer.envdata import EnvData
from mixer.experiment import adapt_run, load_trained, run_spec
from mixer.io.datasets import read_dataset
from mixer.workflow_plan import run_dir

ROOT = Path(__file__).resolve().parents[1]


def curve(losses: np.ndarray, every: int) -> list[tuple[int, float]]:
    """Mean loss over environments after every ``every`` steps (and at the last step)."""
    mean = np.nanmean(np.asarray(losses, dtype=np.float64), axis=1)
    steps = sorted({*range(every, len(mean) + 1, every), len(mean)})
    return [(k, float(mean[k - 1])) for k in steps]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="backbone/variant/seed")
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--experiment", default="odebench2")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    config = load_config(args.config, [])
    exp = config["experiments"][args.experiment]
    data = EnvData.from_dataset(
        read_dataset(args.results / "data" / args.experiment / "adapt_train.zarr")
    )
    out = {}
    for name in args.runs:
        backbone, variant, seed = name.split("/")
        run = run_spec(config["models"], exp, backbone, variant, int(seed))
        run = dataclasses.replace(run, adapt=dataclasses.replace(run.adapt, steps=args.steps))
        folder = args.results.parent / run_dir(args.experiment, backbone, variant, seed)
        model, _ = load_trained(run, str(folder / "model.eqx"))
        _, losses = adapt_run(run, model, data)
        points = curve(np.asarray(losses), args.every)
        last = points[-1][1]
        print(f"{name}: " + ", ".join(f"{k}: {v:.4g} ({v / last:.2f}x)" for k, v in points))
        out[name] = points
    if args.out:
        args.out.write_text(json.dumps({"experiment": args.experiment, "curves": out}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
