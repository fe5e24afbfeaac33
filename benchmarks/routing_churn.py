"""Routing churn: does a late re-routing of training environments explain a learning curve that
jumps up and stays up?

Trains one (backbone, variant) run of an experiment exactly as ``time_to_quality.py`` does
(same config, ``--budget`` and ``--set`` overrides), with the gate recorded at every outer step,
and prints one JSON line: per validated outer step the validation score, the mean training loss
and the weights' learning rate, per outer step the number of training environments whose
routed expert differs from the previous step's, and how the selected state's validation
relative MSE spreads over the environments (quantiles, TPRMSE, the largest ones).

    python benchmarks/routing_churn.py --experiment odebench10b --backbone geps \
        --variant mixer10 --budget 300 --every 10
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np
from time_to_quality import ROOT, ClockTracker, benchmark_spec, load_config, load_data

from mixer.evaluate import evaluate
from mixer.experiment import train_run
from mixer.metrics import relative_mse_per_env, tprmse


def churn(routed: np.ndarray) -> list[int]:
    """Environments whose routed expert changed from one recorded step to the next."""
    return [int(n) for n in (routed[1:] != routed[:-1]).sum(axis=1)]


def spread(per_env: np.ndarray) -> dict:
    """How a mean relative MSE is made: quantiles over environments, TPRMSE (% below 0.1), the
    five largest environments and the mean without them."""
    order = np.argsort(per_env)[::-1]
    return {
        "mean": round(float(per_env.mean()), 4),
        "quantiles_10_50_90": [round(float(q), 4) for q in np.quantile(per_env, [0.1, 0.5, 0.9])],
        "tprmse": round(tprmse(per_env), 2),
        "largest": {int(e): round(float(per_env[e]), 3) for e in order[:5]},
        "mean_without_largest_5": round(float(per_env[order[5:]].mean()), 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--experiment", default="odebench10b")
    parser.add_argument("--backbone", default="geps")
    parser.add_argument("--variant", default="mixer10")
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    config = load_config(Path(args.config), args.set)
    spec = benchmark_spec(
        config, args.experiment, (args.backbone, args.variant), args.budget, args.every
    )
    spec = dataclasses.replace(spec, history_every=1)
    tracker = ClockTracker()
    data = load_data(config, args.experiment)
    result = train_run(spec, *data, tracker=tracker, checkpoint_dir=None)
    val = data[1].strided(spec.train.time_stride)
    pred = np.asarray(evaluate(result.model, result.contexts, val, spec.train.solver))
    h = result.history
    validated = np.isfinite(h.val_rel_mse)
    record = {
        "run": f"{args.experiment} {args.backbone}/{args.variant}",
        "overrides": args.set,
        "best_step": result.best_step + 1,
        "validated": [
            {
                "outer_step": int(s) + 1,
                "val": round(float(v), 4),
                "train_loss": round(float(loss), 4),
                "lr_weights": float(lr),
            }
            for s, v, loss, lr in zip(
                h.step[validated],
                h.val_rel_mse[validated],
                h.train_loss[validated],
                h.lr_weights[validated],
                strict=True,
            )
        ],
        "rerouted_per_step": churn(np.asarray(h.routed)),
        "experts_used_final": int(len(np.unique(np.asarray(h.routed)[-1]))),
        "selected_val_per_env": spread(relative_mse_per_env(pred, np.asarray(val.x))),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
