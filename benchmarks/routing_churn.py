"""Routing churn: does a late re-routing of training environments explain a learning curve that
jumps up and stays up?

Trains one (backbone, variant) run of an experiment exactly as ``time_to_quality.py`` does
(same config, ``--budget`` and ``--set`` overrides), with the gate recorded at every outer step,
and prints one JSON line: per validated outer step the validation score, the mean training loss
and the weights' learning rate, and per outer step the number of training environments whose
routed expert differs from the previous step's.

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
from time_to_quality import ROOT, ClockTracker, load_config, load_data

from mixer.experiment import run_spec, train_run


def churn(routed: np.ndarray) -> list[int]:
    """Environments whose routed expert changed from one recorded step to the next."""
    return [int(n) for n in (routed[1:] != routed[:-1]).sum(axis=1)]


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
    section = config["experiments"][args.experiment]
    spec = run_spec(config["models"], section, args.backbone, args.variant, section["seeds"][0])
    settings = {"validate_every": args.every, "checkpoint_every": 0}
    if args.budget is not None:
        settings["outer_steps"] = args.budget
    spec = dataclasses.replace(
        spec, train=dataclasses.replace(spec.train, **settings), history_every=1
    )
    tracker = ClockTracker()
    data = load_data(config, args.experiment)
    result = train_run(spec, *data, tracker=tracker, checkpoint_dir=None)
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
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
