"""Benchmark: MixER training on ODEBench-10B at the authors' sizes, compared like with like.

The problem of the reference measurement (issue 14): ODEBench-10B from the project's own
simulator (``mixer.data.build_dataset``; 10 families x 16 training environments, 4
trajectories, 20 time points over each family's horizon: the DATASETS.md grid of 100 points
with ``time_stride`` 5), GEPS experts with the expert size of the authors' code (root MLP
2 -> 64 -> 64 -> 2, d_m = 4: 6,053 parameters), M = 10, d = 40 split among the experts,
mini-batches of E/M = 16 neighbouring environments, 12 + 12 inner steps, a gate update after
every inner step (``gate_update_every`` 1, no warm-up), Tsit5 rtol 1e-3 / atol 1e-6, float32,
``--outer-steps`` (60) outer steps of the project's real training step
(``mixer.train_step.make_outer_step``, what ``mixer.train.fit`` runs) from initialisation.

``python benchmarks/outer_step.py [--on-empty stop|reseed] [--quick]`` prints ONE JSON line:

- ``s_outer_early`` / ``s_outer_late``: median wall time of the outer steps 3-12 / 46-60
  (``cpu_s_outer_*``: process CPU time of the same steps, all threads);
- ``s_loss_matrix_early/late``: one full loss matrix (every expert on every environment,
  nothing reused) at states sampled in each window, median; ``s_weight_step`` /
  ``s_context_step``: one inner step of each phase (gradient + AdaBelief, no gate update) at
  the same states;
- ``steps_per_solve_early/late``: solver steps (accepted + rejected) per trajectory of the
  loss matrices computed in each window (mean, max);
- ``gate_updates``: updates due, abandoned on an empty cluster (no loss matrix computed), loss
  matrices computed; ``compile_s``: first outer step minus the early median;
- ``speedup_early/late``: the reference figures (``REFERENCE``) divided by ours.

``--quick`` runs a CI-sized problem (2 families, small experts, 6 outer steps; windows 2-3 and
5-6) that only checks that the benchmark runs. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from mixer.batching import neighbour_batch
from mixer.data.registry import build_dataset, spec_from_config
from mixer.envdata import EnvData
from mixer.gating import GateConfig
from mixer.layer import MixER, active_param_count, make_mixer
from mixer.schedules import make_optimisers
from mixer.solve import SolverConfig
from mixer.train_config import TrainConfig
from mixer.train_step import (
    contexts_objective,
    init_train_state,
    make_outer_step,
    trainable_filter,
    weights_objective,
)

LOG = logging.getLogger("benchmarks.outer_step")

#: The authors' public code on the same problem and machine class (2 cores), median outer
#: step over outer steps 3-12 and 46-60 (issue 14 of this project).
REFERENCE = {
    "s_outer_early": 10.1,
    "s_outer_late": 17.7,
    "source": "issue 14 of this project: the authors' public code (ODEBench-10B from its "
    "generator, GEPS, M=10, d=40, 12+12 inner steps, gate every inner step, Tsit5 "
    "1e-3/1e-6) measured on the same machine class (2 cores); median outer step over "
    "outer steps 3-12 (10.1-11.4 s over four runs) and 46-60",
}


@dataclasses.dataclass(frozen=True)
class Setup:
    """Sizes of one benchmark run (``FULL``: the authors'; ``QUICK``: CI)."""

    families: tuple[int, ...] | None
    envs_per_family: int
    trajectories: int
    time_stride: int
    width: int
    depth: int
    num_experts: int
    context_size: int
    outer_steps: int
    early: tuple[int, int]  # first and last outer step (1-based) of each window
    late: tuple[int, int]
    samples: int  # states per window at which the per-call timings are taken


FULL = Setup(
    families=None,
    envs_per_family=16,
    trajectories=4,
    time_stride=5,
    width=64,
    depth=2,
    num_experts=10,
    context_size=40,
    outer_steps=60,
    early=(3, 12),
    late=(46, 60),
    samples=3,
)
QUICK = Setup(
    families=(24, 25),
    envs_per_family=4,
    trajectories=2,
    time_stride=10,
    width=16,
    depth=2,
    num_experts=2,
    context_size=4,
    outer_steps=6,
    early=(2, 3),
    late=(5, 6),
    samples=1,
)


def build_data(setup: Setup, seed: int) -> EnvData:
    """The training split of ODEBench-10B from the project's simulator (other splits minimal)."""
    spec = spec_from_config(
        "odebench10b",
        {
            "train_envs_per_family": setup.envs_per_family,
            "families": setup.families,
            "n_ics": {
                "train": setup.trajectories,
                "val": 1,
                "test": 1,
                "adapt_train": 1,
                "adapt_test": 1,
            },
        },
    )
    train = build_dataset("odebench10b", spec, seed)["train"]
    return EnvData.from_dataset(train).strided(setup.time_stride)


def build_model(setup: Setup, state_size: int, key) -> MixER:
    """GEPS experts of the authors' size."""
    return make_mixer(
        "geps",
        state_size,
        setup.context_size,
        setup.num_experts,
        split_contexts=True,
        naive=False,
        options={"width": setup.width, "depth": setup.depth},
        key=key,
    )


def train_config(on_empty: str, max_steps: int) -> TrainConfig:
    """The paper's training settings (App. C.3); 500 outer steps set the weights' schedule
    (constant over the benchmark's steps)."""
    solver = SolverConfig("tsit5", rtol=1e-3, atol=1e-6, max_steps=max_steps)
    return TrainConfig(
        outer_steps=500,
        prox_beta=1e-3,
        solver=solver,
        gate_update_every=1,
        gate_warmup=0,
        validate_every=500,
        checkpoint_every=0,
        gate=GateConfig(on_empty=on_empty),
    )


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(output, wall seconds, process CPU seconds) of one call, outputs blocked on."""
    start, start_cpu = time.perf_counter(), time.process_time()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - start, time.process_time() - start_cpu


def _sample_steps(window: tuple[int, int], count: int) -> list[int]:
    return sorted({int(round(s)) for s in np.linspace(window[0], window[1], count)})


def _gate_row(info) -> dict[str, Any]:
    """Gate diagnostics of one outer step (both phases)."""
    phases = (info.weights, info.contexts)
    cat = lambda name: np.concatenate([np.asarray(getattr(p, name)) for p in phases])  # noqa: E731
    matrix = cat("gate_matrix")
    return {
        "due": int(np.sum(cat("gate_updated"))),
        "abandoned": int(np.sum(cat("gate_empty"))),
        "matrices": int(np.sum(matrix)),
        "steps_sum": float(np.sum(cat("gate_steps_mean") * matrix)),
        "steps_max": int(np.max(cat("gate_steps_max"), initial=0)),
    }


def run_training(model: MixER, data: EnvData, cfg: TrainConfig, setup: Setup, key):
    """Every outer step, timed; returns per-step records and the states sampled for the
    per-call timings (``{outer step: (model, contexts)}``)."""
    state = init_train_state(model, jnp.zeros((data.num_envs, model.context_size)), cfg, key=key)
    outer = make_outer_step(model, cfg, data)
    keep = set(_sample_steps(setup.early, setup.samples) + _sample_steps(setup.late, setup.samples))
    rows, snapshots = [], {}
    for step in range(1, setup.outer_steps + 1):
        (state, info), wall, cpu = _timed(lambda s=state: outer(s))
        row = {
            "step": step,
            "s": wall,
            "cpu_s": cpu,
            "loss": float(np.mean(info.weights.loss)),
            **_gate_row(info),
        }
        rows.append(row)
        LOG.info(
            "outer step %d: %.3f s (cpu %.3f s), gate %d due, %d abandoned, %d matrices",
            step,
            wall,
            cpu,
            row["due"],
            row["abandoned"],
            row["matrices"],
        )
        if step in keep:
            snapshots[step] = (state.model, state.contexts)
    return rows, snapshots


def _phase_steps(cfg: TrainConfig, data: EnvData, batch_size: int):
    """Jitted single inner steps of each phase (gradient of that phase's objective + AdaBelief),
    as the training step takes them, without the gate update."""
    opt_w, opt_c = make_optimisers(cfg)

    @eqx.filter_jit
    def weight_step(model, contexts, opt_state, key):
        k_batch, k_loss = jr.split(key)
        batch = neighbour_batch(contexts, batch_size, key=k_batch)
        theta, static = eqx.partition(model, trainable_filter(model))
        grads, _ = jax.grad(weights_objective, has_aux=True)(
            theta, static, theta, contexts, data, batch, cfg, key=k_loss
        )
        updates, opt_state = opt_w.update(grads, opt_state, theta)
        return eqx.combine(eqx.apply_updates(theta, updates), static), opt_state

    @eqx.filter_jit
    def context_step(model, contexts, opt_state, key):
        k_batch, k_loss = jr.split(key)
        batch = neighbour_batch(contexts, batch_size, key=k_batch)
        grads, _ = jax.grad(contexts_objective, has_aux=True)(
            contexts, model, contexts, data, batch, cfg, key=k_loss
        )
        updates, opt_state = opt_c.update(grads, opt_state, contexts)
        return eqx.apply_updates(contexts, updates), opt_state

    def init(model, contexts):
        return (opt_w.init(eqx.filter(model, trainable_filter(model))), opt_c.init(contexts))

    return weight_step, context_step, init


def time_calls(
    snapshots, data: EnvData, cfg: TrainConfig, batch_size: int, repeats: int, key
) -> dict[int, dict[str, float]]:
    """Per-call wall times at every sampled state (median of ``repeats`` after a warm-up)."""
    weight_step, context_step, init = _phase_steps(cfg, data, batch_size)

    @eqx.filter_jit
    def full_matrix(model, contexts):
        return model.loss_matrix_and_steps(contexts, data.x, data.t, cfg.solver)

    out = {}
    for step, (model, contexts) in sorted(snapshots.items()):
        opt_w, opt_c = init(model, contexts)
        calls = {
            "loss_matrix": lambda m=model, c=contexts: full_matrix(m, c)[0],
            "weight_step": lambda m=model, c=contexts, o=opt_w: weight_step(m, c, o, key),
            "context_step": lambda m=model, c=contexts, o=opt_c: context_step(m, c, o, key),
        }
        out[step] = {}
        for name, fn in calls.items():
            _timed(fn)  # compile / warm up
            out[step][name] = statistics.median(_timed(fn)[1] for _ in range(repeats))
        _, steps = full_matrix(model, contexts)
        out[step]["lm_steps_mean"] = float(jnp.mean(steps))
        out[step]["lm_steps_max"] = int(jnp.max(steps))
    return out


def _window(rows: list[dict], window: tuple[int, int]) -> list[dict]:
    return [r for r in rows if window[0] <= r["step"] <= window[1]]


def _window_stats(rows: list[dict], window: tuple[int, int]) -> dict[str, Any]:
    sel = _window(rows, window)
    matrices = sum(r["matrices"] for r in sel)
    return {
        "s_outer": statistics.median(r["s"] for r in sel),
        "cpu_s_outer": statistics.median(r["cpu_s"] for r in sel),
        "steps_per_solve": {
            "mean": sum(r["steps_sum"] for r in sel) / matrices if matrices else None,
            "max": max((r["steps_max"] for r in sel), default=0),
        },
        "gate_due": sum(r["due"] for r in sel),
        "gate_abandoned": sum(r["abandoned"] for r in sel),
    }


def summarise(rows, calls, setup: Setup, model: MixER, *, quick: bool) -> dict[str, Any]:
    """The JSON record from the per-step rows and the per-call timings."""
    early = _window_stats(rows, setup.early)
    late = _window_stats(rows, setup.late)
    in_window = lambda w: [c for s, c in calls.items() if w[0] <= s <= w[1]]  # noqa: E731
    per_call = lambda w, k: statistics.median(c[k] for c in in_window(w))  # noqa: E731
    all_calls = list(calls.values())
    due = sum(r["due"] for r in rows)
    abandoned = sum(r["abandoned"] for r in rows)
    record = {
        "s_outer_early": early["s_outer"],
        "s_outer_late": late["s_outer"],
        "cpu_s_outer_early": early["cpu_s_outer"],
        "cpu_s_outer_late": late["cpu_s_outer"],
        "s_loss_matrix_early": per_call(setup.early, "loss_matrix"),
        "s_loss_matrix_late": per_call(setup.late, "loss_matrix"),
        "s_weight_step": statistics.median(c["weight_step"] for c in all_calls),
        "s_context_step": statistics.median(c["context_step"] for c in all_calls),
        "steps_per_solve_early": early["steps_per_solve"],
        "steps_per_solve_late": late["steps_per_solve"],
        "gate_updates": {
            "due": due,
            "done": due - abandoned,
            "abandoned": abandoned,
            "abandoned_early": early["gate_abandoned"],
            "abandoned_late": late["gate_abandoned"],
            "loss_matrices": sum(r["matrices"] for r in rows),
        },
        "compile_s": rows[0]["s"] - early["s_outer"],
        # the reference is for the full-size problem only
        "speedup_early": None if quick else REFERENCE["s_outer_early"] / early["s_outer"],
        "speedup_late": None if quick else REFERENCE["s_outer_late"] / late["s_outer"],
        "reference": REFERENCE,
        "per_call": {str(s): c for s, c in sorted(calls.items())},
        "loss_first_last": [rows[0]["loss"], rows[-1]["loss"]],
        "s_outer_all": [round(r["s"], 4) for r in rows],
        "expert_params": active_param_count(model),
    }
    return record


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement; returns the JSON record."""
    setup = QUICK if args.quick else FULL
    if args.outer_steps is not None:
        setup = dataclasses.replace(setup, outer_steps=args.outer_steps)
    load_start = os.getloadavg()
    key = jr.PRNGKey(args.seed)
    k_model, k_train, k_calls = jr.split(key, 3)
    LOG.info("simulating ODEBench-10B ...")
    data = build_data(setup, args.seed)
    model = build_model(setup, data.x.shape[-1], k_model)
    cfg = train_config(args.on_empty, args.max_steps)
    batch_size = cfg.resolved_batch_size(data.num_envs, model.num_experts)
    rows, snapshots = run_training(model, data, cfg, setup, k_train)
    LOG.info("per-call timings ...")
    calls = time_calls(snapshots, data, cfg, batch_size, args.repeats, k_calls)
    record = summarise(rows, calls, setup, model, quick=args.quick)
    record["settings"] = {
        "quick": args.quick,
        "on_empty": args.on_empty,
        "seed": args.seed,
        "data": list(map(int, data.x.shape)),
        "num_experts": model.num_experts,
        "context_size": model.context_size,
        "width": setup.width,
        "depth": setup.depth,
        "batch_size": batch_size,
        "outer_steps": setup.outer_steps,
        "windows": {"early": setup.early, "late": setup.late},
        "solver": dataclasses.asdict(cfg.solver),
    }
    record["machine"] = {
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "load_avg_start": list(load_start),
        "load_avg_end": list(os.getloadavg()),
    }
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--on-empty",
        choices=("stop", "reseed"),
        default="stop",
        help="K-means empty-cluster rule (stop: the authors' Alg. 2)",
    )
    parser.add_argument("--quick", action="store_true", help="CI-sized run")
    parser.add_argument(
        "--outer-steps",
        type=int,
        default=None,
        help="override the number of outer steps (windows unchanged)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement")
    parser.add_argument("--max-steps", type=int, default=256, help="solver max_steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
