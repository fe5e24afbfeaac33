"""Rule script: one Epilepsy2 run: re-infer the context of every series (the model's training
series and the held-out ones alike, by one adaptation of the frozen model) and score a logistic
regression on them by stratified k-fold cross-validation."""

import numpy as np

from mixer.downstream import adaptation_convergence, cross_validate_logistic, reinfer_contexts
from mixer.envdata import EnvData
from mixer.experiment import load_trained, routing_summary
from mixer.io.datasets import read_dataset
from mixer.io.runs import read_json, write_json
from mixer.runlog import configure_logging

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
run, cfg = sm.params.run["spec"], sm.params.classification
model, cotrained = load_trained(run, sm.input.model)  # co-trained contexts: routing only
train_ds, held_ds = read_dataset(sm.input.train), read_dataset(sm.input.heldout)
parts = [EnvData.from_dataset(train_ds), EnvData.from_dataset(held_ds)]
contexts, losses = reinfer_contexts(run, model, parts, steps=cfg["adapt_steps"])
convergence = adaptation_convergence(losses)
log.info(
    "re-inferred %d contexts in %d steps: mean loss %.4g -> %.4g; projected relative "
    "decrease median %.2g, max %.2g; converged %s (%.0f%% of series within 1%%)",
    len(contexts),
    convergence["steps"],
    convergence["loss_first"],
    convergence["loss_last"],
    convergence["tail_decrease_median"],
    convergence["tail_decrease_max"],
    convergence["converged"],
    100 * convergence["converged_fraction"],
)
if not convergence["converged"]:
    log.warning("adaptation has not converged: raise classification.adapt_steps")
labels = np.concatenate([train_ds["family"].values, held_ds["family"].values])
cv = cross_validate_logistic(contexts, labels, folds=cfg["folds"], seed=run.seed)
routing = routing_summary(model, cotrained, train_ds["family"].values)
n_train = train_ds.sizes["env"]
write_json(
    sm.output[0],
    {
        **read_json(sm.input.summary),
        **cv,
        "adapt_steps": cfg["adapt_steps"],
        "adaptation": convergence,
        "heldout": held_ds.attrs.get("heldout", ""),
        "label_polarity": train_ds.attrs.get("label_polarity", ""),
        "routing_purity": routing["purity"],
        "routing_ari": routing["ari"],
        "train_contexts": contexts[:n_train].tolist(),
        "train_labels": labels[:n_train].tolist(),
        "heldout_contexts": contexts[n_train:].tolist(),
        "heldout_labels": labels[n_train:].tolist(),
    },
)
log.info(
    "%d-fold CV over %d series: accuracy %.3f, balanced %.3f (majority baseline %.3f); "
    "confusion %s",
    cv["folds"],
    cv["n_series"],
    cv["accuracy"],
    cv["balanced_accuracy"],
    cv["majority_accuracy"],
    cv["confusion_matrix"],
)
