"""Time to quality: learning curves (validation score against outer step and wall time) of
an experiment's models, to plan the default run's budget (issues 14 and 17).

Trains one experiment of a config (default ``odebench10b`` of ``config/config.yaml``, validated
against the workflow's schema), every ``--backbones`` x ``--variants`` pair (default GEPS as
MixER-1 and MixER-10), exactly as the workflow's train rule does (``mixer.experiment.run_spec``
/ ``train_run``: same data, model, training settings and seed), except that the validation
score (the model-selection criterion: relative MSE, Eq. 9) is computed every ``--every`` outer
steps (default: every step), with ``--budget`` the run has that many outer steps (the weights'
learning-rate schedule follows the run length, as in the workflow), and ``--set`` overrides any
config key (``--set experiments.odebench10b.training.batch_size=160``). Prints one JSON line:
per run, the outer step and the wall time (from the start of training, compilation included)
at which the validation score first reached each ``--thresholds`` value (null if never), the
best value and its step, the whole curve, the settings and the machine's load average.
Datasets with ``n_ics`` or ``n_traj`` sizes (the ODE experiments) are supported.
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
from mixer.experiment import RunSpec, run_spec, train_run
from mixer.tracking import NullTracker

LOG = logging.getLogger("benchmarks.time_to_quality")
ROOT = Path(__file__).resolve().parents[1]


class ClockTracker(NullTracker):
    """A tracker that keeps the validation score (``val/<selection metric>``) of every
    validated outer step with the wall time since its creation (records nothing else)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.rows: list[dict[str, float]] = []

    def _log_metrics(self, metrics: dict[str, float], step: int) -> None:
        score = [value for name, value in metrics.items() if name.startswith("val/")]
        if score:
            self.rows.append(
                {
                    "step": step + 1,
                    "seconds": time.perf_counter() - self.started,
                    "val_rel_mse": float(score[0]),
                }
            )
            LOG.info(
                "outer step %d: validation score %.4f at %.1f s",
                step + 1,
                self.rows[-1]["val_rel_mse"],
                self.rows[-1]["seconds"],
            )


def load_config(path: Path, overrides: list[str]) -> dict[str, Any]:
    """The config with ``key.path=value`` overrides (values parsed as YAML) and the schema's
    defaults filled in."""
    raw = yaml.safe_load(path.read_text())
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected key.path=value")
        *parents, last = key.split(".")
        node = raw
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = yaml.safe_load(value)
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    return dict(validate_config(raw, schema))


def load_data(config: dict[str, Any], experiment: str) -> tuple[EnvData, EnvData]:
    """Training and validation splits of the experiment's dataset at the config's sizes (the
    splits training does not read are simulated at one trajectory)."""
    dataset = config["experiments"][experiment]["dataset"]
    section = dict(config["data"][dataset])
    sizes = "n_ics" if "n_ics" in section else "n_traj"
    if sizes not in section:
        raise SystemExit(f"dataset {dataset!r} has neither n_ics nor n_traj: not supported")
    section[sizes] = {**section[sizes], "test": 1, "adapt_train": 1, "adapt_test": 1}
    splits = build_dataset(dataset, spec_from_config(dataset, section), config["seed"])
    return EnvData.from_dataset(splits["train"]), EnvData.from_dataset(splits["val"])


def first_reached(rows: list[dict[str, float]], threshold: float) -> dict[str, Any] | None:
    """The first outer step whose validation relative MSE is at most ``threshold``."""
    for row in rows:
        if row["val_rel_mse"] <= threshold:
            return {"outer_step": row["step"], "seconds": round(row["seconds"], 2)}
    return None


def benchmark_spec(
    config: dict[str, Any], experiment: str, run: tuple[str, str], budget: int | None, every: int
) -> RunSpec:
    """The run of (backbone, variant) ``run`` at the experiment's first seed, as the workflow
    would train it, with ``budget`` outer steps (None: the config's), validation every
    ``every`` outer steps and no checkpoints."""
    section = config["experiments"][experiment]
    spec = run_spec(config["models"], section, *run, int(section["seeds"][0]))
    settings: dict[str, Any] = {"validate_every": every, "checkpoint_every": 0}
    if budget is not None:
        settings["outer_steps"] = budget
    return dataclasses.replace(spec, train=dataclasses.replace(spec.train, **settings))


def run_variant(
    config: dict[str, Any],
    experiment: str,
    run: tuple[str, str],
    options: argparse.Namespace,
    data: tuple[EnvData, EnvData],
) -> dict[str, Any]:
    """Train one (backbone, variant) run and summarise its learning curve."""
    spec = benchmark_spec(config, experiment, run, options.budget, options.every)
    tracker = ClockTracker()
    result = train_run(spec, *data, tracker=tracker, checkpoint_dir=None)
    rows = tracker.rows
    thresholds = [float(v) for v in options.thresholds.split(",")]
    return {
        "outer_steps": spec.train.outer_steps,
        "seed": spec.seed,
        "reached": {str(th): first_reached(rows, th) for th in thresholds},
        "best_val_rel_mse": result.best_val_rel_mse,
        "best_step": result.best_step + 1,
        "train_seconds": round(rows[-1]["seconds"], 2) if rows else None,
        "curve": [[r["step"], round(r["seconds"], 2), round(r["val_rel_mse"], 4)] for r in rows],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--experiment", default="odebench10b")
    parser.add_argument("--backbones", default="geps")
    parser.add_argument("--variants", default="mixer1,mixer10")
    parser.add_argument(
        "--budget", type=int, default=None, help="outer steps per run (default: the config's)"
    )
    parser.add_argument("--every", type=int, default=1, help="validate every N outer steps")
    parser.add_argument("--thresholds", default="0.5,0.3")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    load_start = os.getloadavg()
    config = load_config(args.config, args.set)
    if args.experiment not in config["experiments"]:
        raise SystemExit(f"--experiment {args.experiment!r} is not in {args.config}")
    data = load_data(config, args.experiment)
    runs = [(b, v) for b in args.backbones.split(",") for v in args.variants.split(",")]
    record: dict[str, Any] = {
        f"{b}/{v}": run_variant(config, args.experiment, (b, v), args, data) for b, v in runs
    }
    record["settings"] = {
        "config": str(args.config),
        "experiment": args.experiment,
        "budget": args.budget,
        "every": args.every,
        "overrides": args.set,
        "curve_columns": ["outer_step", "seconds", "val_rel_mse"],
    }
    record["machine"] = {
        "cpu_count": os.cpu_count(),
        "load_avg_start": list(load_start),
        "load_avg_end": list(os.getloadavg()),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
