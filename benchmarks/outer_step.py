"""Benchmark of one MixER outer step on an ODEBench-10B-sized problem (synthetic data).

Problem: 160 environments (10 families x 16), 4 trajectories, 20 time points, 2-D states;
GEPS experts (root MLP width 64, depth 3), M = 10, d = 40 (split contexts), batch 16,
12 + 12 inner steps with a gate update after every inner step, Tsit5 rtol 1e-3 atol 1e-6,
float32. The data are closed-form solutions of damped linear oscillators (no download).

Run ``python benchmarks/outer_step.py --json``: one JSON object on stdout with

- ``s_per_outer_step``: median wall time of whole outer steps (``mixer.train_step``'s jitted
  outer step, the function ``mixer.train.fit`` calls), compilation excluded;
- ``grad_step_sparse_s`` / ``grad_step_dense_s``: one training gradient step (gradient of the
  mini-batch loss + AdaBelief update) with the routed expert only / with every expert computed
  and the routed one selected (the compute pattern of the paper's public code); ``grad_speedup``
  is their ratio (dense / sparse);
- ``gate_update_s``: one gate update including its loss matrix (``loss_matrix_s`` alone), and
  ``gate_update_fraction``: the share of the outer step spent in its 24 gate updates;
- ``compile_s``: first outer-step call minus a steady one; ``adapt_s_per_env``: adaptation
  (``mixer.adapt.adapt``, compilation excluded) wall time per environment;
- extras: ``cpu_s_per_outer_step`` and ``cpu_s_gate_update`` (process CPU time, all threads;
  steadier than wall time on a shared machine), ``s_per_outer_step_no_gate`` (the same outer step with the gate updates switched
  off) and ``gate_update_fraction_by_difference`` (1 - no_gate / with_gate), the compile
  times of the other functions, and the machine's load average before and after.
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
import numpy as np
import optax
import scipy.linalg

from mixer.adapt import AdaptConfig, adapt
from mixer.backbones.base import trajectory_mse
from mixer.envdata import EnvData
from mixer.gating import GateConfig, gate_update
from mixer.layer import MixER, make_mixer
from mixer.solve import SolverConfig
from mixer.train_config import TrainConfig
from mixer.train_step import init_train_state, make_outer_step

LOG = logging.getLogger("benchmarks.outer_step")
FAMILIES, ENVS_PER_FAMILY, TRAJ, TIME, STATE = 10, 16, 4, 20, 2
NUM_EXPERTS, CONTEXT_SIZE, BATCH = 10, 40, 16
HORIZONS = (10.0, 8.0, 15.0, 5.0, 20.0, 5.0, 15.0, 15.0, 4.0, 10.0)  # ODEBench families' T


def synthetic_data(seed: int) -> EnvData:
    """Damped 2-D linear oscillators, one (frequency, damping, horizon) per family and the
    parameters scaled over 90-110 % within a family; 20 points at t_k = 5k T / 100."""
    rng = np.random.default_rng(seed)
    xs, ts = [], []
    for f in range(FAMILIES):
        omega, damping = 0.5 + 0.3 * f, 0.05 + 0.02 * (f % 4)
        t = 5.0 * np.arange(TIME) * HORIZONS[f] / 100.0
        for scale in np.linspace(0.9, 1.1, ENVS_PER_FAMILY):
            a = scale * np.array([[-damping, omega], [-omega, -damping]])
            x0 = rng.uniform(-1.0, 1.0, (TRAJ, STATE))
            props = np.stack([scipy.linalg.expm(a * tk) for tk in t])  # (time, D, D)
            xs.append(np.einsum("kij,nj->nki", props, x0))
            ts.append(t)
    return EnvData.from_arrays(np.stack(xs), np.stack(ts))


def timed(fn: Callable[[], Any], repeats: int, cpu: list[float] | None = None):
    """(first call, median of ``repeats`` further calls) wall times, outputs blocked on.

    When ``cpu`` is a list, the median CPU time of this process (all threads) over the same
    calls is appended to it: less sensitive than wall time to other jobs on a shared machine.
    """
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    times, cpu_times = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return first, statistics.median(times)


def time_outer_steps(model: MixER, data: EnvData, cfg: TrainConfig, repeats: int, key,
                     cpu: list[float] | None = None):
    """Compile and run the real jitted outer step; returns (first, median, final state)."""
    contexts = jnp.zeros((data.num_envs, model.context_size))
    state = init_train_state(model, contexts, cfg, key=key)
    outer = make_outer_step(model, cfg, data)
    holder = {"state": state}

    def one():
        holder["state"], info = outer(holder["state"])
        return holder["state"], info

    first, median = timed(one, repeats, cpu)
    return first, median, holder["state"]


def make_grad_step(solver: SolverConfig, *, dense: bool):
    """One weight step on a mini-batch (gradient of the Eq. 7 loss + AdaBelief update)."""
    opt = optax.adabelief(1e-3)

    def spec(model: MixER):
        return eqx.tree_at(lambda m: m.gate, jax.tree.map(eqx.is_inexact_array, model), False)

    def loss(diff, static, contexts, x, t):
        model = eqx.combine(diff, static)
        fn = model.train_predict_dense if dense else model.train_predict
        preds = jax.vmap(lambda c, xe, te: fn(c, c[None], xe, te, solver))(contexts, x, t)
        return jnp.mean(jax.vmap(trajectory_mse)(preds, x))

    @eqx.filter_jit
    def step(model, opt_state, contexts, x, t):
        diff, static = eqx.partition(model, spec(model))
        grads = jax.grad(loss)(diff, static, contexts, x, t)
        updates, opt_state = opt.update(grads, opt_state, diff)
        return eqx.combine(optax.apply_updates(diff, updates), static), opt_state

    def init(model):
        return opt.init(eqx.filter(model, spec(model)))

    return step, init


def time_grad_steps(model, contexts, data, solver, repeats) -> dict[str, float]:
    """Sparse and dense gradient steps on the same mini-batch of BATCH environments."""
    batch = jnp.arange(0, data.num_envs, data.num_envs // BATCH)[:BATCH]
    args = (contexts[batch], data.x[batch], data.t[batch])
    out = {}
    for name, dense in (("sparse", False), ("dense", True)):
        step, init = make_grad_step(solver, dense=dense)
        opt_state = init(model)
        first, median = timed(lambda s=step, o=opt_state: s(model, o, *args), repeats)
        out[f"grad_step_{name}_s"] = median
        out[f"grad_step_{name}_compile_s"] = first - median
    return out


def time_gate_update(model, contexts, data, solver, repeats, key) -> dict[str, float]:
    """One gate update (loss matrix + K-means + pairing + least squares), and the loss matrix."""
    gcfg = GateConfig()
    centroids = jnp.zeros((model.num_experts, model.context_size))

    @eqx.filter_jit
    def loss_matrix(m, c):
        return m.loss_matrix(c, data.x, data.t, solver)

    @eqx.filter_jit
    def update(m, c):
        lm = m.loss_matrix(c, data.x, data.t, solver)
        return gate_update(c, lm, m.gate, centroids, jnp.asarray(False), key=key, cfg=gcfg)

    cpu: list[float] = []
    _, lm_s = timed(lambda: loss_matrix(model, contexts), repeats)
    _, gate_s = timed(lambda: update(model, contexts), repeats, cpu)
    return {"gate_update_s": gate_s, "loss_matrix_s": lm_s, "cpu_s_gate_update": cpu[0]}


def time_adaptation(model, data, solver, steps, num_envs, key) -> dict[str, float]:
    """Adaptation of ``num_envs`` new environments (one vmapped call), compilation excluded."""
    sub = data.subset(np.arange(num_envs) * (data.num_envs // num_envs))
    cfg = AdaptConfig(steps=steps, solver=solver)
    first, median = timed(lambda: adapt(model, sub, cfg, key=key), 1)
    return {"adapt_s_per_env": median / num_envs, "adapt_compile_s": first - median,
            "adapt_steps": steps, "adapt_envs": num_envs}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement; returns the JSON record."""
    key = jax.random.PRNGKey(args.seed)
    k_model, k_train, k_gate, k_adapt = jax.random.split(key, 4)
    load_start = os.getloadavg()
    solver = SolverConfig("tsit5", rtol=1e-3, atol=1e-6, max_steps=args.max_steps)
    data = synthetic_data(args.seed)
    model = make_mixer("geps", STATE, CONTEXT_SIZE, NUM_EXPERTS, split_contexts=True,
                       naive=False, options={"width": 64, "depth": 3}, key=k_model)
    cfg = TrainConfig(outer_steps=1000, prox_beta=10.0, batch_size=BATCH, solver=solver,
                      gate_update_every=1, validate_every=1000, checkpoint_every=0)
    LOG.info("outer steps ...")
    cpu: list[float] = []
    first, outer_s, state = time_outer_steps(model, data, cfg, args.repeats, k_train, cpu)
    record: dict[str, Any] = {"s_per_outer_step": outer_s, "compile_s": first - outer_s,
                              "cpu_s_per_outer_step": cpu[0]}
    if args.no_gate_baseline:
        LOG.info("outer steps without gate updates ...")
        no_gate = dataclasses.replace(cfg, gate_update_every=0)
        _, no_gate_s, _ = time_outer_steps(model, data, no_gate, args.repeats, k_train)
        record["s_per_outer_step_no_gate"] = no_gate_s
    model, contexts = state.model, state.contexts  # a state a few steps into training
    LOG.info("gradient steps ...")
    record.update(time_grad_steps(model, contexts, data, solver, args.repeats))
    record["grad_speedup"] = record["grad_step_dense_s"] / record["grad_step_sparse_s"]
    LOG.info("gate update ...")
    record.update(time_gate_update(model, contexts, data, solver, args.repeats, k_gate))
    n_updates = (cfg.inner_steps_weights + cfg.inner_steps_contexts) // cfg.gate_update_every
    record["gate_update_fraction"] = n_updates * record["gate_update_s"] / outer_s
    if args.no_gate_baseline:
        record["gate_update_fraction_by_difference"] = 1.0 - no_gate_s / outer_s
    if args.adapt_steps > 0:
        LOG.info("adaptation ...")
        record.update(time_adaptation(model, data, solver, args.adapt_steps, args.adapt_envs,
                                      k_adapt))
    record.update(machine=_machine(load_start), repeats=args.repeats, max_steps=args.max_steps)
    return record


def _machine(load_start) -> dict[str, Any]:
    return {"backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
            "cpu_count": os.cpu_count(), "load_avg_start": list(load_start),
            "load_avg_end": list(os.getloadavg())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=256, help="solver max_steps")
    parser.add_argument("--adapt-steps", type=int, default=1500, help="0 skips adaptation")
    parser.add_argument("--adapt-envs", type=int, default=16)
    parser.add_argument("--no-gate-baseline", action=argparse.BooleanOptionalAction,
                        default=True, help="also time outer steps without gate updates")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    record = run(args)
    if args.json:
        print(json.dumps(record))
    else:
        for name, value in record.items():
            print(f"{name}: {value}")


if __name__ == "__main__":
    main()
