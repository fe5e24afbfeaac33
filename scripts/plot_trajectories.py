"""Rule script: Figs. 10 and 11, one test trajectory and phase portrait per family (first and
last five families), truth vs the prediction of one trained run."""

import numpy as np

from mixer.envdata import EnvData
from mixer.evaluate import evaluate
from mixer.experiment import load_trained
from mixer.io.datasets import read_dataset
from mixer.io.runs import run_ids
from mixer.plotting.labels import family_labels
from mixer.plotting.trajectories import first_test_trajectory, plot_family_trajectories
from mixer.runlog import configure_logging
from mixer.tables import backbone_label, variant_label

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
run = sm.params.run["spec"]
model, contexts = load_trained(run, sm.input.model)
test_ds = read_dataset(sm.input.test)
data = EnvData.from_dataset(test_ds)
pred = np.asarray(evaluate(model, contexts, data, run.train.solver))
families = test_ds["family"].values
order = list(dict.fromkeys(families))
ids = run_ids(sm.input.model)
label = f"{backbone_label(ids['backbone'])} {variant_label(ids['variant'])} seed {ids['seed']}"
halves = {"first": order[:5], "last": order[-5:]}
for output, (which, chosen) in zip(sm.output, halves.items(), strict=True):
    ts, trues, preds, names = first_test_trajectory(
        np.asarray(test_ds["x"]), pred, np.asarray(test_ds["t"]), families, chosen
    )
    title = f"{label}: {which} five families, one test trajectory ({sm.params.scale} scale)"
    plot_family_trajectories(
        ts, trues, preds, family_labels(test_ds.attrs["dataset"], names), title
    ).savefig(output, dpi=120)
    log.info("wrote %s", output)
