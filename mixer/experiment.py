"""One training run of an experiment grid cell (dataset x backbone x variant x seed).

Translates a validated config section into library objects (model, TrainConfig, AdaptConfig)
and runs the stages the workflow calls: train, evaluate, adapt, routing analysis. Knows nothing
of Snakemake; file formats live in ``mixer.io.runs``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from mixer.adapt import AdaptConfig, adapt
from mixer.config import config_hash
from mixer.envdata import EnvData
from mixer.evaluate import evaluate
from mixer.gating import GateConfig
from mixer.layer import MixER, active_param_count, make_mixer
from mixer.metrics import (
    adjusted_rand,
    mse,
    per_family,
    relative_mse,
    relative_mse_per_env,
    routing_purity,
    tprmse,
)
from mixer.run_id import RunId, parse_variant
from mixer.solve import SolverConfig
from mixer.train import FitResult, fit
from mixer.train_config import TrainConfig

__all__ = [
    "RunSpec",
    "parse_variant",
    "run_spec",
    "experiment_runs",
    "build_model",
    "train_run",
    "score",
    "routing_summary",
    "adapt_run",
    "load_trained",
]


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's numbers."""

    dataset: str
    backbone: str
    variant: str
    seed: int
    context_size: int
    split_contexts: bool
    options: tuple[tuple[str, Any], ...]
    train: TrainConfig
    adapt: AdaptConfig
    history_every: int

    @property
    def num_experts(self) -> int:
        """M, parsed from the variant name."""
        return parse_variant(self.variant)[0]

    @property
    def naive(self) -> bool:
        """Whether the gate is trained by gradient descent (MixER-M†)."""
        return parse_variant(self.variant)[1]

    def identity(self, experiment: str) -> RunId:
        """The run's identity within ``experiment`` (what its result files record)."""
        return RunId(experiment, self.dataset, self.backbone, self.variant, self.seed)

    def hash(self) -> str:
        """Stable hash of the whole spec, adaptation settings included."""
        return config_hash(dataclasses.asdict(self))

    def training_settings(self) -> dict[str, Any]:
        """The settings training depends on, as plain data: dataset name, backbone, variant,
        seed, context size, split, backbone options, TrainConfig (solver and gate included)
        and the history cadence. Not the adaptation settings (SPEC §2.5)."""
        settings = dataclasses.asdict(self)
        del settings["adapt"]
        return settings

    def training_hash(self) -> str:
        """Stable hash of :meth:`training_settings` (the settings part of the training key,
        ``mixer.io.training_key``; recorded with the trained model)."""
        return config_hash(self.training_settings())


def _solver(section: Mapping[str, Any]) -> SolverConfig:
    return SolverConfig(**section)


def run_spec(
    models: Mapping[str, Any], experiment: Mapping[str, Any], backbone: str, variant: str, seed: int
) -> RunSpec:
    """Merge the shared ``models`` config with an experiment's overrides into a RunSpec.

    Training settings: ``models.training``, then the experiment's ``training``, then its
    ``training_by_backbone[backbone]``. Backbone options: ``models.backbones[backbone]``, then
    the experiment's ``backbone_options[backbone]``, then its
    ``variant_options[variant][backbone]``. The context size is ``context_sizes[backbone]``
    when given, else ``context_size``.
    """
    training = {
        **models["training"],
        **experiment.get("training", {}),
        **experiment.get("training_by_backbone", {}).get(backbone, {}),
    }
    adaptation = {**models["adaptation"], **experiment.get("adaptation", {})}
    history_every = int(training.pop("history_every"))
    solver = _solver({**models["solver"], **experiment.get("solver", {})})
    options = {
        **models["backbones"][backbone],
        **experiment.get("backbone_options", {}).get(backbone, {}),
        **experiment.get("variant_options", {}).get(variant, {}).get(backbone, {}),
    }
    context_size = experiment.get("context_sizes", {}).get(backbone, experiment["context_size"])
    train = TrainConfig(
        **{**training, "lr_boundaries": tuple(training["lr_boundaries"])},
        solver=solver,
        gate=GateConfig(**models["gate"]),
    )
    return RunSpec(
        dataset=experiment["dataset"],
        backbone=backbone,
        variant=variant,
        seed=int(seed),
        context_size=int(context_size),
        split_contexts=bool(experiment["split_contexts"]),
        options=tuple(sorted(options.items())),
        train=train,
        adapt=AdaptConfig(**adaptation, solver=solver),
        history_every=history_every,
    )


def experiment_runs(experiment: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """The (backbone, variant, seed) runs of an experiment section: every backbone with its
    variants (``variants_by_backbone[backbone]`` when given, else ``variants``), every seed."""
    by_backbone = experiment.get("variants_by_backbone", {})
    return [
        (b, v, int(s))
        for b in experiment["backbones"]
        for v in by_backbone.get(b, experiment["variants"])
        for s in experiment["seeds"]
    ]


def build_model(run: RunSpec, state_size: int) -> MixER:
    """The initial model of a run (all experts from the run's model key)."""
    num_experts, naive = parse_variant(run.variant)
    key = jax.random.fold_in(jax.random.key(run.seed), 0)
    return make_mixer(
        run.backbone,
        state_size,
        run.context_size,
        num_experts,
        split_contexts=run.split_contexts,
        naive=naive,
        options=dict(run.options),
        key=key,
    )


def load_trained(run: RunSpec, path: str) -> tuple[MixER, Any]:
    """The model and training contexts written by the train stage for ``run``.

    Raises ``ValueError`` when the file was trained with other training settings (its recorded
    ``training_settings`` hash, the settings part of the training key, differs from
    ``run.training_hash()``); adaptation settings do not matter here.
    """
    from mixer.io.checkpoints import read_metadata
    from mixer.io.runs import load_model

    meta = read_metadata(path)
    if meta.get("training_settings") != run.training_hash():
        raise ValueError(
            f"{path} was trained with other training settings (hash "
            f"{meta.get('training_settings')} != {run.training_hash()}); "
            "rerun the train stage"
        )
    # Shapes only: building the real initial model runs (and compiles) every initialiser.
    template = eqx.filter_eval_shape(build_model, run, int(meta["state_size"]))
    contexts = jax.ShapeDtypeStruct((int(meta["num_envs"]), run.context_size), jnp.float32)
    model, contexts, _ = load_model(path, template, contexts)
    return model, contexts


def train_run(
    run: RunSpec,
    train: EnvData,
    val: EnvData,
    *,
    tracker: Any,
    checkpoint_dir: str | None,
    logger: Any = None,
) -> FitResult:
    """Train one run from zero contexts (resuming from ``checkpoint_dir`` when one is there)."""
    model = build_model(run, train.x.shape[-1])
    contexts = jnp.zeros((train.num_envs, run.context_size), jnp.float32)
    key = jax.random.fold_in(jax.random.key(run.seed), 1)
    return fit(
        model,
        contexts,
        train,
        val,
        run.train,
        key=key,
        tracker=tracker,
        checkpoint_dir=checkpoint_dir,
        history_every=run.history_every,
        logger=logger,
    )


def score(
    model: MixER,
    contexts,
    data: EnvData,
    families: np.ndarray,
    solver: SolverConfig,
    *,
    traj_chunk: int | None = None,
    env_chunk: int | None = None,
) -> dict[str, Any]:
    """Test metrics of ``model`` with ``contexts`` on ``data`` (overall, per env, per family).

    Non-finite predictions (a diverged rollout) make ``finite`` false, list the environments
    concerned in ``nonfinite_envs`` and leave ``rel_mse``, ``mse`` and ``tprmse`` NaN.

    ``traj_chunk`` / ``env_chunk``: predict that many trajectories / environments at a time
    (see ``evaluate``).
    """
    pred = np.asarray(
        evaluate(model, contexts, data, solver, traj_chunk=traj_chunk, env_chunk=env_chunk)
    )
    true = np.asarray(data.x)
    per_env = relative_mse_per_env(pred, true)
    env_mse = np.array([mse(p, t) for p, t in zip(pred, true, strict=True)])  # SPEC §2.7
    env_finite = np.isfinite(pred.reshape(pred.shape[0], -1)).all(axis=1)
    return {
        "mse": mse(pred, true),
        "rel_mse": relative_mse(pred, true),
        # A diverged prediction leaves TPRMSE unknown (NaN, written as null), not 0.
        "tprmse": tprmse(per_env) if env_finite.all() else float("nan"),
        "finite": bool(env_finite.all()),
        "nonfinite_envs": np.flatnonzero(~env_finite).tolist(),
        "per_env_rel_mse": per_env.tolist(),
        "per_env_mse": env_mse.tolist(),
        "per_family_rel_mse": per_family(per_env, families),
        "per_family_mse": per_family(env_mse, families),
    }


@eqx.filter_jit
def _routes_and_probs(model: MixER, contexts):
    """Routed expert and gate probabilities of every context, in one compiled call (op by op,
    the first call of an evaluation job spent 1-3 s dispatching and compiling primitives)."""
    return jax.vmap(model.route)(contexts), jax.vmap(model.gate_probs)(contexts)


def routing_summary(model: MixER, contexts, families: np.ndarray) -> dict[str, Any]:
    """Routed expert and gate probabilities of every environment, purity and ARI vs families."""
    routes, probs = (np.asarray(a) for a in _routes_and_probs(model, contexts))
    return {
        "routes": routes.tolist(),
        "gate_probs": probs.tolist(),
        "purity": routing_purity(routes, families),
        "ari": adjusted_rand(routes, families),
        "experts_used": int(len(np.unique(routes))),
        "active_params": active_param_count(model),
    }


def adapt_run(run: RunSpec, model: MixER, adapt_train: EnvData, *, key_index: int = 2):
    """Adapt contexts of new environments (model and gate frozen); returns contexts, losses."""
    key = jax.random.fold_in(jax.random.key(run.seed), key_index)
    return adapt(model, adapt_train, run.adapt, key=key)
