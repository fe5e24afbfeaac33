"""Time to quality: wall time and outer steps until ODEBench-10B GEPS reaches a validation
relative MSE, at the default run's settings (issue 14, "Deliver" 4).

Trains the ``odebench10b`` experiment of a config (default ``config/config.yaml``, validated
against the workflow's schema) with GEPS as MixER-1 and MixER-10 (``--variants``), exactly as
the workflow's train rule does (``mixer.experiment.run_spec`` / ``train_run``: same data,
model, training settings and seed), except that the validation relative MSE (Eq. 9, the model
selection criterion) is computed after EVERY outer step and, with ``--budget``, the run has that
many outer steps (the weights' learning-rate schedule follows the run length, as in the
workflow). Prints one JSON line: per variant, the outer step and the wall time (from the start
of training, compilation included) at which the validation relative MSE first reached each
``--thresholds`` value (null if never), the best value reached, the budget and the machine's
load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from mixer.config import validate_config
from mixer.data.registry import build_dataset, spec_from_config
from mixer.envdata import EnvData
from mixer.experiment import run_spec, train_run
from mixer.tracking import NullTracker

LOG = logging.getLogger("benchmarks.time_to_quality")
ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "odebench10b"


class ClockTracker(NullTracker):
    """A tracker that keeps the validation relative MSE of every outer step with the wall time
    since its creation (records nothing else)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.rows: list[dict[str, float]] = []

    def _log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if "val/rel_mse" in metrics:
            self.rows.append(
                {
                    "step": step + 1,
                    "seconds": time.perf_counter() - self.started,
                    "val_rel_mse": float(metrics["val/rel_mse"]),
                }
            )
            LOG.info(
                "outer step %d: val rel MSE %.4f at %.1f s",
                step + 1,
                self.rows[-1]["val_rel_mse"],
                self.rows[-1]["seconds"],
            )


def load_config(path: Path) -> dict[str, Any]:
    """The config with the schema's defaults filled in."""
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    return validate_config(yaml.safe_load(path.read_text()), schema)


def load_data(config: dict[str, Any]) -> tuple[EnvData, EnvData]:
    """Training and validation splits of the experiment's dataset at the config's sizes (the
    splits training does not read are simulated at one trajectory)."""
    section = dict(config["data"][EXPERIMENT])
    counts = dict(section.get("n_ics", {}))
    section["n_ics"] = {**counts, "test": 1, "adapt_train": 1, "adapt_test": 1}
    splits = build_dataset(EXPERIMENT, spec_from_config(EXPERIMENT, section), config["seed"])
    return EnvData.from_dataset(splits["train"]), EnvData.from_dataset(splits["val"])


def first_reached(rows: list[dict[str, float]], threshold: float) -> dict[str, Any] | None:
    """The first outer step whose validation relative MSE is at most ``threshold``."""
    for row in rows:
        if row["val_rel_mse"] <= threshold:
            return {"outer_step": row["step"], "seconds": round(row["seconds"], 2)}
    return None


def run_variant(
    config: dict[str, Any],
    variant: str,
    budget: int | None,
    thresholds: list[float],
    train: EnvData,
    val: EnvData,
) -> dict[str, Any]:
    """Train one variant and summarise when it reached each threshold."""
    experiment = config["experiments"][EXPERIMENT]
    seed = int(experiment["seeds"][0])
    spec = run_spec(config["models"], experiment, "geps", variant, seed)
    settings = {"validate_every": 1, "checkpoint_every": 0}
    if budget is not None:
        settings["outer_steps"] = budget
    spec = dataclasses.replace(spec, train=dataclasses.replace(spec.train, **settings))
    tracker = ClockTracker()
    result = train_run(spec, train, val, tracker=tracker, checkpoint_dir=None)
    rows = tracker.rows
    return {
        "outer_steps": spec.train.outer_steps,
        "seed": seed,
        "reached": {str(th): first_reached(rows, th) for th in thresholds},
        "best_val_rel_mse": result.best_val_rel_mse,
        "best_step": result.best_step + 1,
        "train_seconds": round(rows[-1]["seconds"], 2) if rows else None,
        "val_rel_mse": [round(r["val_rel_mse"], 4) for r in rows],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--variants", default="mixer1,mixer10")
    parser.add_argument(
        "--budget", type=int, default=None, help="outer steps per run (default: the config's)"
    )
    parser.add_argument("--thresholds", default="0.5,0.3")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    load_start = os.getloadavg()
    config = load_config(args.config)
    train, val = load_data(config)
    thresholds = [float(v) for v in args.thresholds.split(",")]
    record = {
        variant: run_variant(config, variant, args.budget, thresholds, train, val)
        for variant in args.variants.split(",")
    }
    record["settings"] = {
        "config": str(args.config),
        "experiment": EXPERIMENT,
        "backbone": "geps",
        "budget": args.budget,
        "thresholds": thresholds,
    }
    record["machine"] = {
        "cpu_count": os.cpu_count(),
        "load_avg_start": list(load_start),
        "load_avg_end": list(os.getloadavg()),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
