"""Downstream analysis of learned context vectors (§4.3: SCCTS Fig. 6, Epilepsy2 Fig. 7).

PCA projections of contexts, K-means with centroids initialised at the true class means,
the SCCTS adjusted Rand indices (routing against the pairs and against the six classes) and
class x expert counts, and the Epilepsy2 classification protocol: contexts of every series
re-inferred by one adaptation of the frozen model, then a logistic regression scored by
stratified k-fold cross-validation.

Modules: ``projection`` (PCA), ``clustering`` (SCCTS), ``classification`` and
``reinference`` (Epilepsy2). NumPy and scikit-learn only; JAX is imported by the functions
that adapt.
"""

from mixer.downstream.classification import cross_validate_logistic as cross_validate_logistic
from mixer.downstream.classification import logistic_accuracy as logistic_accuracy
from mixer.downstream.classification import majority_baseline as majority_baseline
from mixer.downstream.classification import stratified_folds as stratified_folds
from mixer.downstream.clustering import class_expert_counts as class_expert_counts
from mixer.downstream.clustering import clustering_scores as clustering_scores
from mixer.downstream.clustering import kmeans_from_true_means as kmeans_from_true_means
from mixer.downstream.projection import pca_2d as pca_2d
from mixer.downstream.reinference import adaptation_convergence as adaptation_convergence
from mixer.downstream.reinference import reinfer_contexts as reinfer_contexts

__all__ = [
    "pca_2d",
    "kmeans_from_true_means",
    "clustering_scores",
    "class_expert_counts",
    "logistic_accuracy",
    "stratified_folds",
    "cross_validate_logistic",
    "majority_baseline",
    "reinfer_contexts",
    "adaptation_convergence",
]
