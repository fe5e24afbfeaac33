"""Downstream analysis of contexts: PCA, K-means from true means, SCCTS ARIs and class x expert
counts, the logistic probe and the Epilepsy2 protocol (re-inferred contexts, stratified CV)."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from mixer.data.sccts import SccTsSpec, generate_sccts
from mixer.downstream import (
    adaptation_convergence,
    class_expert_counts,
    clustering_scores,
    cross_validate_logistic,
    kmeans_from_true_means,
    logistic_accuracy,
    majority_baseline,
    pca_2d,
    reinfer_contexts,
    stratified_folds,
)
from mixer.metrics import adjusted_rand


def blobs(rng, n_per, centres, scale=0.1):
    centres = np.asarray(centres, dtype=float)
    x = np.concatenate([c + scale * rng.normal(size=(n_per, centres.shape[1])) for c in centres])
    return x, np.repeat(np.arange(len(centres)), n_per)


def test_points_on_a_line_have_one_component():
    t = np.linspace(-3, 5, 50)[:, None]
    x = 1.0 + t * np.array([[1.0, -2.0, 0.5, 3.0]])
    coords, ratio = pca_2d(x)
    assert coords.shape == (50, 2) and ratio.shape == (2,)
    np.testing.assert_allclose(ratio, [1.0, 0.0], atol=1e-10)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-10)
    np.testing.assert_allclose(np.abs(coords[:, 0]), np.abs(t[:, 0] - t.mean()) * np.sqrt(14.25))


def test_projection_with_fit_on_matches_sklearn():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(80, 6)) * np.array([5, 3, 1, 1, 0.5, 0.1])
    test = rng.normal(size=(30, 6)) + 1.0
    coords, ratio = pca_2d(test, fit_on=train)
    ref = PCA(n_components=2, svd_solver="full").fit(train)
    np.testing.assert_allclose(ratio, ref.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(coords, ref.transform(test), atol=1e-10)


def previous_pca_2d(contexts, fit_on=None):
    """The project's former NumPy PCA (SVD of the centred fit set, each component's
    largest-magnitude entry made positive), kept as the reference the scikit-learn-backed
    version must reproduce, signs included."""
    points = np.asarray(contexts, dtype=np.float64)
    points = points[:, None] if points.ndim == 1 else points
    fit = points if fit_on is None else np.asarray(fit_on, dtype=np.float64)
    fit = fit[:, None] if fit.ndim == 1 else fit
    mean = fit.mean(axis=0)
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    k = min(2, vt.shape[0])
    axes = vt[:k]
    signs = np.sign(axes[np.arange(k), np.argmax(np.abs(axes), axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    power = s**2
    ratio = np.zeros(2)
    ratio[:k] = power[:k] / power.sum() if power.sum() > 0 else 0.0
    coords = np.zeros((points.shape[0], 2))
    coords[:, :k] = (points - mean) @ axes.T
    return coords, ratio


@pytest.mark.parametrize("seed", range(12))
def test_pca_equals_the_previous_implementation_signs_included(seed):
    rng = np.random.default_rng(seed)
    n_fit, d = int(rng.integers(2, 60)), int(rng.integers(1, 7))
    scales = rng.uniform(0.1, 5.0, size=d)
    fit = rng.normal(size=(n_fit, d)) * scales + rng.normal(size=d)
    other = rng.normal(size=(int(rng.integers(1, 20)), d)) * scales
    for args in [(fit,), (other, fit)]:
        coords, ratio = pca_2d(*args)
        ref_coords, ref_ratio = previous_pca_2d(*args)
        np.testing.assert_allclose(ratio, ref_ratio, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(coords, ref_coords, rtol=1e-9, atol=1e-9)


def test_pca_signs_do_not_depend_on_the_order_or_sign_of_the_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 4)) * np.array([4.0, 2.0, 1.0, 0.5])
    coords, _ = pca_2d(x)
    order = rng.permutation(40)
    np.testing.assert_allclose(pca_2d(x[order])[0], coords[order], atol=1e-10)
    # Negated data have the same axes, so the coordinates flip instead of the axes.
    np.testing.assert_allclose(pca_2d(-x)[0], -coords, atol=1e-10)


def test_pca_degenerate_fits_match_the_previous_implementation():
    single, constant = np.array([[1.0, -2.0, 0.5]]), np.full((7, 3), 2.5)
    probe = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.0]])
    for contexts, fit_on in [
        (single, None),
        (probe, single),
        (probe, constant),
        (np.arange(5.0), None),
    ]:
        coords, ratio = pca_2d(contexts, fit_on=fit_on)
        ref_coords, ref_ratio = previous_pca_2d(contexts, fit_on)
        np.testing.assert_allclose(coords, ref_coords, atol=1e-12)
        np.testing.assert_array_equal(ratio, ref_ratio)


def test_one_feature_and_constant_data_give_finite_output():
    coords, ratio = pca_2d(np.arange(5.0))
    np.testing.assert_allclose(ratio, [1.0, 0.0])
    np.testing.assert_allclose(coords[:, 1], 0.0)
    coords, ratio = pca_2d(np.full((7, 3), 2.5))
    assert np.all(np.isfinite(coords)) and np.all(np.isfinite(ratio))
    np.testing.assert_allclose(coords, 0.0)
    np.testing.assert_allclose(ratio, 0.0)
    with pytest.raises(ValueError, match="features"):
        pca_2d(np.zeros((3, 2)), fit_on=np.zeros((3, 4)))


def test_kmeans_from_true_means_recovers_separated_blobs():
    rng = np.random.default_rng(1)
    x, y = blobs(rng, 30, [[0, 0], [10, 0], [0, 10], [10, 10]])
    names = np.array(["w", "x", "y", "z"])[y]  # sorted names, so codes equal y
    labels = kmeans_from_true_means(x, names)
    np.testing.assert_array_equal(labels, y)
    assert adjusted_rand(labels, names) == 1.0
    np.testing.assert_array_equal(kmeans_from_true_means(x, names), labels)  # deterministic


def sccts_like(seed=0, n_per_class=15):
    data = generate_sccts(SccTsSpec(n_per_class=n_per_class), seed=seed)["train"]
    return data["x"].values, data["family"].values, data["pair"].values


def test_sccts_like_scores_are_valid_aris():
    series, classes, pairs = sccts_like()
    n = classes.size
    labels = kmeans_from_true_means(series, classes)
    assert labels.shape == (n,) and labels.min() >= 0 and labels.max() < 6
    rng = np.random.default_rng(2)
    codes = np.unique(classes, return_inverse=True)[1]
    contexts = np.eye(6)[codes] * 5 + rng.normal(size=(n, 6)) * 0.1
    routes = np.unique(pairs, return_inverse=True)[1]
    scores = clustering_scores(routes, contexts, series, classes, pairs)
    assert set(scores) == {
        "ari_routing_pairs",
        "ari_routing_classes",
        "ari_kmeans_contexts",
        "ari_kmeans_series",
    }
    assert all(isinstance(v, float) and -1.0 <= v <= 1.0 for v in scores.values())
    assert scores["ari_routing_pairs"] == 1.0
    assert scores["ari_kmeans_contexts"] == 1.0
    assert scores["ari_kmeans_series"] < 1.0  # raw series confuse the pairs


def test_logistic_accuracy_on_separable_data_is_perfect():
    rng = np.random.default_rng(3)
    x, y = blobs(rng, 40, [[0, 0, 0], [4, 4, 4]], scale=0.5)
    xt, yt = blobs(rng, 25, [[0, 0, 0], [4, 4, 4]], scale=0.5)
    out = logistic_accuracy(x, y, xt, yt, seed=0)
    assert out["accuracy"] == 1.0 and out["balanced_accuracy"] == 1.0
    assert out["confusion_matrix"] == [[25, 0], [0, 25]]
    assert out["labels"] == [0, 1] and out["n_train"] == 80 and out["n_test"] == 50


def test_logistic_accuracy_on_random_labels_is_chance():
    rng = np.random.default_rng(4)
    x, xt = rng.normal(size=(3000, 4)), rng.normal(size=(3000, 4))
    y, yt = rng.integers(0, 2, 3000), rng.integers(0, 2, 3000)
    out = logistic_accuracy(x, y, xt, yt, seed=0)
    assert abs(out["accuracy"] - 0.5) < 0.05
    assert np.sum(out["confusion_matrix"]) == 3000


def test_logistic_accuracy_rejects_bad_input():
    x = np.zeros((10, 2))
    two = np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match="single class"):
        logistic_accuracy(x, np.zeros(10), x, two, seed=0)
    with pytest.raises(ValueError, match="single class"):
        logistic_accuracy(x, two, x, np.ones(10), seed=0)
    with pytest.raises(ValueError, match="labels"):
        logistic_accuracy(x, two[:9], x, two, seed=0)
    with pytest.raises(ValueError, match="features"):
        logistic_accuracy(x, two, np.zeros((10, 3)), two, seed=0)


# --------------------------------------------------------------------------- SCCTS routing


CLASSES = np.repeat(list("ABCDEF"), 20)
PAIRS = np.asarray(
    [{"A": "AB", "B": "AB", "C": "CD", "D": "CD", "E": "EF", "F": "EF"}[c] for c in CLASSES]
)


def planted_scores(routes):
    contexts = np.random.default_rng(0).normal(size=(CLASSES.size, 3))
    return clustering_scores(routes, contexts, contexts, CLASSES, PAIRS)


def test_routing_by_pairs_scores_one_against_pairs():
    routes = np.asarray(["ABCDEF".index(c) // 2 for c in CLASSES])
    names, table = class_expert_counts(routes, CLASSES, num_experts=3)
    assert names == list("ABCDEF")
    np.testing.assert_array_equal(table, np.repeat(20 * np.eye(3, dtype=int), 2, axis=0))
    assert planted_scores(routes)["ari_routing_pairs"] == 1.0


def test_direction_split_is_coherent_but_scores_zero_against_pairs():
    """{A, C, E} -> expert 2, {B, D, F} -> expert 0: every class goes to one expert, yet the
    ARI against the pairs A/B, C/D, E/F is about 0; the class ARI and table show the structure."""
    routes = np.asarray([2 if c in "ACE" else 0 for c in CLASSES])
    scores = planted_scores(routes)
    assert abs(scores["ari_routing_pairs"]) < 0.02
    assert scores["ari_routing_classes"] > 0.3  # 0.324 for a perfect two-way split of six classes
    names, table = class_expert_counts(routes, CLASSES, num_experts=3)
    expected = np.zeros((6, 3), int)
    expected[[0, 2, 4], 2] = 20
    expected[[1, 3, 5], 0] = 20
    np.testing.assert_array_equal(table, expected)
    assert np.all((table > 0).sum(axis=1) == 1)  # coherent: one expert per class
    assert table[:, 1].sum() == 0  # an unused expert is a zero column, not a missing one


def test_random_routing_scores_zero_against_classes():
    routes = np.random.default_rng(1).integers(0, 3, CLASSES.size)
    scores = planted_scores(routes)
    assert abs(scores["ari_routing_classes"]) < 0.05 and abs(scores["ari_routing_pairs"]) < 0.05
    assert class_expert_counts(routes, CLASSES, 3)[1].sum() == CLASSES.size


def test_class_expert_counts_rejects_bad_routes():
    with pytest.raises(ValueError, match="routes must be integers"):
        class_expert_counts(np.full(CLASSES.size, 3), CLASSES, num_experts=3)
    with pytest.raises(ValueError, match="routes for"):
        class_expert_counts(np.zeros(5, int), CLASSES, num_experts=3)


# --------------------------------------------------------------------------- Epilepsy2 CV


def test_stratified_folds_balance_classes_and_follow_the_seed():
    y = np.array([0] * 30 + [1] * 50)
    folds = stratified_folds(y, 5, seed=0)
    for k in range(5):
        assert np.sum((folds == k) & (y == 0)) == 6 and np.sum((folds == k) & (y == 1)) == 10
    np.testing.assert_array_equal(folds, stratified_folds(y, 5, seed=0))
    assert not np.array_equal(folds, stratified_folds(y, 5, seed=1))
    with pytest.raises(ValueError, match="fewer samples than folds"):
        stratified_folds(np.array([0] * 3 + [1] * 20), 5, seed=0)
    with pytest.raises(ValueError, match="folds >= 2"):
        stratified_folds(y, 1, seed=0)
    with pytest.raises(ValueError, match="two classes"):
        stratified_folds(np.zeros(10), 2, seed=0)


def test_cv_on_separable_contexts_is_perfect():
    rng = np.random.default_rng(5)
    x, y = blobs(rng, 40, [[0, 0, 0, 0], [3, 3, 3, 3]], scale=0.4)
    names = np.array(["non-seizure", "seizure"])[y]
    out = cross_validate_logistic(x, names, folds=5, seed=0)
    assert out["accuracy"] == 1.0 and out["balanced_accuracy"] == 1.0
    assert out["confusion_matrix"] == [[40, 0], [0, 40]]
    assert out["labels"] == ["non-seizure", "seizure"] and out["n_series"] == 80
    assert out["fold_accuracy"] == [1.0] * 5 and out["folds"] == 5
    assert out["majority_accuracy"] == 0.5


def test_cv_on_labels_independent_of_contexts_is_near_the_majority_baseline():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(600, 6))
    y = np.where(rng.random(600) < 0.7, "b", "a")
    base = majority_baseline(y)
    assert base["majority_label"] == "b" and abs(base["majority_accuracy"] - 0.7) < 0.05
    out = cross_validate_logistic(x, y, folds=5, seed=3)
    assert abs(out["accuracy"] - base["majority_accuracy"]) < 0.05
    assert abs(out["balanced_accuracy"] - 0.5) < 0.06
    assert np.sum(out["confusion_matrix"]) == 600
    assert out["majority_accuracy"] == base["majority_accuracy"]


def test_cv_rejects_mismatched_input():
    with pytest.raises(ValueError, match="labels"):
        cross_validate_logistic(np.zeros((10, 2)), np.repeat([0, 1], 4), folds=2, seed=0)


def test_convergence_from_the_loss_curves():
    steps = np.arange(1000)[:, None]
    flat = 1.0 + 5.0 * np.exp(-steps / np.array([[20.0, 50.0]]))  # converged long before
    slow = 1.0 + 5.0 * np.exp(-steps / 2000.0)  # still falling
    good = adaptation_convergence(flat)
    assert good["converged"] and good["converged_fraction"] == 1.0 and good["steps"] == 1000
    assert good["loss_first"] == pytest.approx(6.0) and good["loss_last"] == pytest.approx(1.0)
    bad = adaptation_convergence(np.hstack([flat[:, :1], slow, slow]))
    assert not bad["converged"] and bad["converged_fraction"] == pytest.approx(1 / 3)
    assert bad["tail_decrease_max"] > 0.1
    one_late = adaptation_convergence(np.hstack([np.repeat(flat, 20, axis=1), slow]))
    assert one_late["converged"] and one_late["converged_fraction"] == pytest.approx(40 / 41)
    # A short run still falling at a steady rate has not converged, however small each step.
    ramp = 1.0 - 0.002 * np.arange(20)[:, None] * np.ones((1, 4))
    assert not adaptation_convergence(ramp)["converged"]
    assert not adaptation_convergence(np.ones((1, 3)))["converged"]


# ------------------------------------------------------ Epilepsy2: one procedure for all contexts


def tiny_plrnn_run():
    from pathlib import Path

    import jax
    import yaml

    from mixer.config import validate_config
    from mixer.envdata import EnvData
    from mixer.experiment import build_model, run_spec

    root = Path(__file__).resolve().parents[1]
    schema = yaml.safe_load((root / "workflow/schemas/config.schema.yaml").read_text())
    cfg = validate_config(yaml.safe_load((root / "config/test.yaml").read_text()), schema)
    run = run_spec(cfg["models"], cfg["experiments"]["epilepsy2"], "plrnn", "mixer2", 0)
    model = build_model(run, 1)
    gate = jax.random.normal(jax.random.key(3), model.gate.shape)
    model = eqx_set(model, "gate", gate)  # a non-trivial frozen routing
    rng = np.random.default_rng(0)
    t = np.broadcast_to(np.arange(24) / 178.0, (6, 24))
    x = np.sin(np.arange(24)[None, :] * rng.uniform(0.2, 0.6, (6, 1)))[:, None, :, None]
    return run, model, EnvData.from_arrays(x, t)


def eqx_set(model, name, value):
    import equinox as eqx

    return eqx.tree_at(lambda m: getattr(m, name), model, value)


def test_training_and_heldout_contexts_come_from_one_adaptation_procedure():
    """The classifier's training and held-out contexts are both adapted from 0 by the frozen
    model: a series gets the same context whichever side of the split it is on, the result is
    ``adapt_run`` on all series, and no co-trained context can enter (none is an input)."""
    import dataclasses
    import inspect

    from mixer.experiment import adapt_run

    run, model, data = tiny_plrnn_run()
    first, second = data.subset(np.arange(4)), data.subset(np.arange(4, 6))
    ctx, losses = reinfer_contexts(run, model, [first, second], steps=7)
    assert ctx.shape == (6, run.context_size) and losses.shape == (7, 6)
    assert np.all(np.isfinite(ctx)) and np.abs(ctx).max() > 0
    swapped, _ = reinfer_contexts(run, model, [second, first], steps=7)  # sides exchanged
    np.testing.assert_allclose(swapped, ctx[[4, 5, 0, 1, 2, 3]], rtol=1e-5, atol=1e-7)
    run7 = dataclasses.replace(run, adapt=dataclasses.replace(run.adapt, steps=7))
    ref, ref_losses = adapt_run(run7, model, data)
    np.testing.assert_allclose(ctx, np.asarray(ref), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(losses, np.asarray(ref_losses), rtol=1e-6)
    assert list(inspect.signature(reinfer_contexts).parameters) == [
        "run",
        "model",
        "parts",
        "steps",
    ]
