"""Rule script: one Epilepsy2 run: adapt contexts of the held-out series (model frozen) and
classify them with a logistic regression trained on the training contexts."""

import numpy as np

from mixer.downstream import logistic_accuracy
from mixer.envdata import EnvData
from mixer.experiment import adapt_run, load_trained, routing_summary
from mixer.io.datasets import read_dataset
from mixer.io.runs import read_json, write_json
from mixer.runlog import configure_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
spec = sm.params.run["spec"]
model, train_ctx = load_trained(spec, sm.input.model)
train_ds, held_ds = read_dataset(sm.input.train), read_dataset(sm.input.heldout)
held_ctx, _ = adapt_run(spec, model, EnvData.from_dataset(held_ds))
train_y, held_y = train_ds["family"].values, held_ds["family"].values
probe = logistic_accuracy(np.asarray(train_ctx), train_y, np.asarray(held_ctx), held_y,
                          seed=spec.seed)
routing = routing_summary(model, train_ctx, train_y)
write_json(sm.output[0], {
    **read_json(sm.input.summary), **probe, "heldout": held_ds.attrs.get("heldout", ""),
    "label_polarity": train_ds.attrs.get("label_polarity", ""),
    "routing_purity": routing["purity"], "routing_ari": routing["ari"],
    "train_contexts": np.asarray(train_ctx).tolist(), "train_labels": train_y.tolist(),
    "heldout_contexts": np.asarray(held_ctx).tolist(), "heldout_labels": held_y.tolist(),
})
log.info("held-out accuracy %.3f (balanced %.3f) on %d series", probe["accuracy"],
         probe["balanced_accuracy"], probe["n_test"])
