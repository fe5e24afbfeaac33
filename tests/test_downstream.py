"""Downstream analysis of contexts: PCA, K-means from true means, SCCTS ARIs, logistic probe."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from mixer.data.sccts import SccTsSpec, generate_sccts
from mixer.downstream import (
    clustering_scores,
    kmeans_from_true_means,
    logistic_accuracy,
    pca_2d,
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


def test_projection_with_fit_on_matches_sklearn_up_to_sign():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(80, 6)) * np.array([5, 3, 1, 1, 0.5, 0.1])
    test = rng.normal(size=(30, 6)) + 1.0
    coords, ratio = pca_2d(test, fit_on=train)
    ref = PCA(n_components=2).fit(train)
    expected = ref.transform(test)
    np.testing.assert_allclose(ratio, ref.explained_variance_ratio_, rtol=1e-10)
    for k in range(2):
        sign = np.sign(coords[0, k] * expected[0, k])
        np.testing.assert_allclose(coords[:, k], sign * expected[:, k], atol=1e-10)


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
    assert set(scores) == {"ari_routing_pairs", "ari_kmeans_contexts", "ari_kmeans_series"}
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
