"""What the workflow builds from a validated config: datasets, runs, their paths, settings and
the tables and figures of each experiment.

The Snakemake rules (``rules/*.smk``) stay declarative by asking a :class:`WorkflowPlan` for
their targets, inputs and params; everything here is plain Python on the config mapping, so it
is tested without Snakemake. Paths are relative to the working directory (``results/...``).

>>> datasets, message = active_datasets(config)   # message: why Epilepsy2 was left out, or None
>>> plan = WorkflowPlan(config, datasets)
>>> plan.run_files("lv", "metrics.json")          # one per (backbone, variant, seed)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mixer.data.registry import epilepsy2_available, split_names
from mixer.experiment import RunSpec, experiment_runs, run_spec
from mixer.run_id import RUN_DIR, parse_variant

__all__ = [
    "CLAIMS_TABLES",
    "CLAIM_RUN_FILES",
    "PlanError",
    "RUN_DIR",
    "TABLE4_EXPERIMENTS",
    "WorkflowPlan",
    "active_datasets",
    "epilepsy2_files",
    "run_dir",
]

RESULTS = Path("results")

#: The experiments sharing Table 4 and Fig. 9.
TABLE4_EXPERIMENTS: tuple[str, ...] = ("lv", "go", "sm")

#: The run file the claims table reads per experiment (``metrics.json`` when not listed).
CLAIM_RUN_FILES: dict[str, str] = {"sccts": "clustering.json", "epilepsy2": "classification.json"}

#: The claims table's files, part of the ``all`` target.
CLAIMS_TABLES: list[str] = [f"results/tables/claims.{ext}" for ext in ("csv", "md", "html")]

#: Datasets read or generated from their own section only (no shared ``simulation`` keys).
_NOT_SIMULATED = ("sccts", "epilepsy2")

_EPILEPSY2_FILES = ("Epilepsy2_TRAIN.ts", "Epilepsy2_TEST.ts")

# The tables and figures of each experiment (under results/), besides its learning curves.
_TARGETS: dict[str, list[str]] = {
    "odebench2": ["tables/odebench2.csv", "tables/odebench2.md", "figures/fig2_odebench2.png",
                  "figures/fig2_odebench2.pdf", "figures/fig8_routing_odebench2.png"],
    "odebench10a": ["tables/table2_odebench10a.csv", "tables/table2_odebench10a.md"],
    "odebench10b": ["tables/table3_odebench10b.csv", "tables/table3_odebench10b.md",
                    "figures/fig5_gating_odebench10b.png",
                    "figures/fig10_trajectories_odebench10b.png",
                    "figures/fig11_trajectories_odebench10b.png"],
    "sccts": ["tables/sccts_clustering.csv", "tables/sccts_clustering.md",
              "figures/fig6_sccts.png"],
    "epilepsy2": ["tables/epilepsy2_classification.csv",
                  "tables/epilepsy2_classification.md", "figures/fig7_epilepsy2.png"],
    **dict.fromkeys(TABLE4_EXPERIMENTS, ["tables/table4_lv_go_sm.csv", "tables/table4_lv_go_sm.md",
                                         "figures/fig9_gating_lv_go_sm.png"]),
}  # fmt: skip


class PlanError(ValueError):
    """A target or figure this config cannot build, with the reason and the config key."""


def active_datasets(
    config: Mapping[str, Any],
    available: Callable[[str], bool] = epilepsy2_available,
) -> tuple[list[str], str | None]:
    """The configured datasets, without Epilepsy2 when its files are absent, and the message
    saying so (``None`` when nothing was left out). ``available(directory)`` tells whether the
    Epilepsy2 directory holds its training file."""
    names = list(config["datasets"])
    if "epilepsy2" not in names:
        return names, None
    directory = config["data"]["epilepsy2"]["directory"]
    if available(directory):
        return names, None
    names.remove("epilepsy2")
    return names, (
        f"[mixer] Epilepsy2 skipped: no Epilepsy2_TRAIN.ts in '{directory}'. To include it, "
        "download Epilepsy2 from the UEA/UCR time-series classification archive "
        "(https://www.timeseriesclassification.com, dataset 'Epilepsy2', .ts format), "
        "unpack it and set data.epilepsy2.directory to the folder holding the .ts files."
    )


def epilepsy2_files(directory: str) -> list[str]:
    """The .ts files the Epilepsy2 dataset is read from (a change in them reruns the rule)."""
    return [str(Path(directory) / n) for n in _EPILEPSY2_FILES if (Path(directory) / n).exists()]


def run_dir(experiment: str, backbone: str, variant: str, seed: int | str) -> str:
    """The folder of one run (:data:`RUN_DIR` filled in)."""
    return RUN_DIR.format(experiment=experiment, backbone=backbone, variant=variant, seed=seed)


@dataclasses.dataclass(frozen=True)
class WorkflowPlan:
    """The jobs a validated ``config`` asks for, given the datasets this machine can build.

    Attributes:
        config: the validated workflow config (schema defaults filled in).
        datasets: the datasets built (:func:`active_datasets`).
    """

    config: Mapping[str, Any]
    datasets: list[str]

    # ------------------------------------------------------------------------- datasets

    def dataset_section(self, dataset: str) -> dict[str, Any]:
        """The config section that fully determines a dataset (rerun trigger and provenance):
        its ``data`` section, plus the shared ``simulation`` keys for simulated datasets."""
        section = dict(self.config["data"][dataset])
        if dataset not in _NOT_SIMULATED:
            section.update(self.config["simulation"])
        return section

    def data_targets(self) -> list[str]:
        """Every split of every built dataset and its sanity figure."""
        zarrs = [RESULTS / "data" / d / f"{s}.zarr" for d in self.datasets for s in split_names(d)]
        figures = [RESULTS / "figures" / f"data_{d}.png" for d in self.datasets]
        return [str(p) for p in zarrs + figures]

    def val_path(self, experiment: str) -> str:
        """Validation split of a run's environments; series datasets (no held-out initial
        conditions) select on their training series."""
        dataset = self.config["experiments"][experiment]["dataset"]
        split = "val" if "val" in split_names(dataset) else "train"
        return f"results/data/{experiment}/{split}.zarr"

    # ------------------------------------------------------------------------- runs

    def enabled_experiments(self) -> dict[str, Mapping[str, Any]]:
        """Experiments switched on whose dataset is built by this config."""
        return {
            name: exp
            for name, exp in self.config["experiments"].items()
            if exp["enabled"] and exp["dataset"] in self.datasets
        }

    def run_spec(self, experiment: str, backbone: str, variant: str, seed: int | str) -> RunSpec:
        """The RunSpec of one run (every setting, adaptation included)."""
        exp = self.config["experiments"][experiment]
        return run_spec(self.config["models"], exp, backbone, variant, int(seed))

    def run_params(
        self, experiment: str, backbone: str, variant: str, seed: int | str
    ) -> dict[str, Any]:
        """The resolved settings of one run: a change reruns exactly the runs it touches."""
        return {
            "spec": self.run_spec(experiment, backbone, variant, seed),
            "experiment": experiment,
        }

    def training_params(
        self, experiment: str, backbone: str, variant: str, seed: int | str
    ) -> dict[str, Any]:
        """What the train job depends on, as plain data: the settings training uses (data set
        name, seed, model, TrainConfig), not the adaptation settings."""
        return self.run_spec(experiment, backbone, variant, seed).training_settings()

    def run_dirs(self, experiment: str) -> list[str]:
        """The folders of every run of ``experiment`` (backbone x variant x seed)."""
        runs = experiment_runs(self.config["experiments"][experiment])
        return [run_dir(experiment, b, v, s) for b, v, s in runs]

    def run_files(self, experiment: str, name: str) -> list[str]:
        """``name`` in every run folder of ``experiment``."""
        return [f"{d}/{name}" for d in self.run_dirs(experiment)]

    def first_seed(self, experiment: str) -> int:
        """The experiment's first seed (the runs drawn in single-run figures)."""
        return self.config["experiments"][experiment]["seeds"][0]

    def first_seed_file(self, experiment: str, backbone: str, variant: str, name: str) -> str:
        """A file of the first seed's run of (backbone, variant) in ``experiment``."""
        return f"{run_dir(experiment, backbone, variant, self.first_seed(experiment))}/{name}"

    def first_seed_runs(self, experiment: str, name: str) -> list[str]:
        """``name`` in the run folders of the experiment's first seed."""
        seed = self.first_seed(experiment)
        return [f for f in self.run_files(experiment, name) if f"/seed{seed}/" in f]

    def largest_mixer(self, experiment: str, backbone: str, m: int | None = None) -> str:
        """The run variant shown in the gating figures: ``mixer<m>`` when ``experiment`` has
        it for ``backbone``, else its largest MixER variant; :class:`PlanError` when it has no
        MixER-M with M > 1."""
        runs = experiment_runs(self.config["experiments"][experiment])
        variants = {v for b, v, _ in runs if b == backbone}
        mixers = sorted((parse_variant(v)[0], v) for v in variants if not parse_variant(v)[1])
        if m is not None and f"mixer{m}" in variants:
            return f"mixer{m}"
        if not mixers or mixers[-1][0] < 2:
            raise PlanError(
                f"experiment '{experiment}' has no MixER-M (M > 1) run with backbone "
                f"'{backbone}' (config key figures.backbone or experiments.{experiment})"
            )
        return mixers[-1][1]

    def fig8_histories(self, experiment: str) -> list[str]:
        """Histories of the first seed, for every backbone and every M > 1 variant."""
        exp = self.config["experiments"][experiment]
        seed = exp["seeds"][0]
        return [
            f"{run_dir(experiment, b, v, seed)}/history.zarr"
            for b, v, s in experiment_runs(exp)
            if s == seed and parse_variant(v)[0] > 1
        ]

    def fig10_run(self) -> dict[str, Any]:
        """The run drawn in Figs. 10-11 (its wildcards): MixER-10 (or the largest MixER) of
        ``figures.backbone``, first seed, ODEBench-10B."""
        backbone = self.config["figures"]["backbone"]
        return {
            "experiment": "odebench10b",
            "backbone": backbone,
            "variant": self.largest_mixer("odebench10b", backbone, 10),
            "seed": self.first_seed("odebench10b"),
        }

    # ------------------------------------------------------------------------- targets

    def table4_experiments(self) -> list[str]:
        """The enabled experiments of Table 4 and Fig. 9."""
        enabled = self.enabled_experiments()
        return [e for e in TABLE4_EXPERIMENTS if e in enabled]

    def claim_inputs(self) -> dict[str, list[str]]:
        """The run files of every enabled experiment the claims table reads, by experiment."""
        return {
            name: self.run_files(name, CLAIM_RUN_FILES.get(name, "metrics.json"))
            for name in self.enabled_experiments()
        }

    def experiment_targets(self, experiment: str) -> list[str]:
        """Every table and figure an experiment contributes to (its learning curves too)."""
        learning_curves = f"figures/learning_curves_{experiment}.png"
        return [f"results/{t}" for t in [*_TARGETS[experiment], learning_curves]]

    def target_inputs(self, experiment: str) -> list[str]:
        """The files of the named target ``experiment``; :class:`PlanError` saying why when this
        config does not build it (its dataset is not in ``datasets:``, Epilepsy2's files are
        missing, or the experiment is switched off)."""
        if experiment in self.enabled_experiments():
            return self.experiment_targets(experiment)
        dataset = self.config["experiments"][experiment]["dataset"]
        configured = list(self.config["datasets"])
        if dataset not in configured:
            why = f"its dataset '{dataset}' is not in `datasets:` {configured}"
        elif dataset not in self.datasets:
            why = f"the files of its dataset '{dataset}' are missing (see the message above)"
        else:
            why = f"experiments.{experiment}.enabled is false"
        raise PlanError(f"target '{experiment}' builds nothing with this config: {why}")

    def all_experiment_targets(self) -> list[str]:
        """Every enabled experiment's targets and the claims table, each once."""
        targets = [t for name in self.enabled_experiments() for t in self.experiment_targets(name)]
        return list(dict.fromkeys(targets + CLAIMS_TABLES))
