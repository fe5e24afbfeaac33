"""Rule script: one SCCTS run's unsupervised analysis (routing and contexts vs the classes)."""

import numpy as np

from mixer.downstream import class_expert_counts, clustering_scores, kmeans_from_true_means
from mixer.experiment import load_trained, routing_summary
from mixer.io.datasets import read_dataset
from mixer.io.runs import read_json, write_json
from mixer.runlog import configure_logging

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
run = sm.params.run["spec"]
model, contexts = load_trained(run, sm.input.model)
ds = read_dataset(sm.input.train)
classes, pairs = ds["family"].values, ds["pair"].values
routing = routing_summary(model, contexts, pairs)
series = np.asarray(ds["x_raw"]).reshape(len(classes), -1)  # the baseline clusters raw values
scores = clustering_scores(routing["routes"], np.asarray(contexts), series, classes, pairs)
names, counts = class_expert_counts(routing["routes"], classes, model.num_experts)
write_json(
    sm.output[0],
    {
        **read_json(sm.input.summary),
        **scores,
        "purity_pairs": routing["purity"],
        "experts_used": routing["experts_used"],
        "routes": routing["routes"],
        "class_names": names,
        "class_expert_counts": counts.tolist(),
        "classes": classes.tolist(),
        "pairs": pairs.tolist(),
        "contexts": np.asarray(contexts).tolist(),
        "kmeans_contexts": kmeans_from_true_means(np.asarray(contexts), classes).tolist(),
    },
)
log.info(
    "ARI routing vs pairs %.3f, vs classes %.3f; K-means on contexts %.3f, on raw series %.3f",
    scores["ari_routing_pairs"],
    scores["ari_routing_classes"],
    scores["ari_kmeans_contexts"],
    scores["ari_kmeans_series"],
)
log.info("class x expert counts (rows %s):\n%s", "".join(names), counts)
