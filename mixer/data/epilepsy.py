"""Epilepsy2 (UEA/UCR archive): loading, held-out part and label polarity.

Splits: ``train`` and ``adapt_train`` (held-out series whose contexts are adapted and then
classified).  When ``Epilepsy2_TEST.ts`` is in the directory, train = all series of
``Epilepsy2_TRAIN.ts`` and adapt_train = the test file; otherwise train = the first
``80 - n_holdout`` series of TRAIN and adapt_train = the last ``n_holdout`` (with the default
20: the archive's validation part, identical to ``Epilepsy2_VAL.ts``).  The attribute
``heldout`` says which was used.  Each series is an environment with one trajectory
(state dimension 1) on ``t = k / 178`` s, ``k = 0..177``.

Label polarity: the file's label "0" is *seizure*, "1" is non-seizure.  Evidence from the 80
training series (the values are min-max scaled per time index over the whole archive, so the
large-amplitude seizure segments spread widely while the other four recording types stay
compressed around 0.5):

- per-series standard deviation: median 0.0846 for label 0 (min 0.0465, max 0.1953) against
  0.0468 for label 1 (min 0.0419, max 0.0800); P(sd of a label-0 series > sd of a label-1
  series) = 0.959; 37 of the 40 label-0 series but only 3 of the 40 label-1 series lie above
  the pooled median;
- per-series range (max - min): median 0.425 against 0.216, P(label 0 > label 1) = 0.978;
- line length (mean absolute increment): median 0.0245 against 0.0203, P = 0.956.

This matches the archive's description listing seizure first (label 0) and the paper's text,
whose "seizure" block is the first 30 series (file label 0); the paper's own 0/1 naming is the
reverse of the file's.  :func:`polarity_evidence` recomputes the first statistic at load time
and the loader logs a warning when the data disagree.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import xarray as xr

from mixer.data.layout import trajectory_dataset
from mixer.io.datasets import TsData, read_ts

logger = logging.getLogger(__name__)

TRAIN_FILE = "Epilepsy2_TRAIN.ts"
TEST_FILE = "Epilepsy2_TEST.ts"
SAMPLING_HZ = 178.0
SEIZURE_LABEL = "0"
FAMILIES: tuple[str, ...] = ("seizure", "non-seizure")
POLARITY = "file label '0' = seizure, label '1' = non-seizure"


@dataclasses.dataclass(frozen=True)
class Epilepsy2Spec:
    """``directory`` holds ``Epilepsy2_TRAIN.ts`` and optionally ``Epilepsy2_TEST.ts``;
    ``n_holdout`` series at the end of TRAIN are held out when the test file is absent."""

    directory: str = "../shared/data/epilepsy2"
    n_holdout: int = 20

    def __post_init__(self) -> None:
        if self.n_holdout < 1:
            raise ValueError(f"n_holdout must be >= 1, got {self.n_holdout}")


def epilepsy2_available(directory: str | Path) -> bool:
    """Whether ``directory`` holds the Epilepsy2 training file."""
    return (Path(directory) / TRAIN_FILE).is_file()


def polarity_evidence(values: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Per-label median of the per-series standard deviation and the probability that a
    series of the seizure label has a larger one than a series of the other label.

    ``values`` is ``(series, time)``; ``labels`` the raw string labels.
    """
    sd = values.std(axis=1)
    seizure = sd[labels == SEIZURE_LABEL]
    other = sd[labels != SEIZURE_LABEL]
    if seizure.size == 0 or other.size == 0:
        raise ValueError("polarity evidence needs series of both labels")
    return {
        "median_sd_seizure": float(np.median(seizure)),
        "median_sd_non_seizure": float(np.median(other)),
        "p_sd_seizure_gt_non_seizure": float(np.mean(seizure[:, None] > other[None, :])),
    }


def _split(data: TsData, index: np.ndarray, split: str, attrs: dict) -> xr.Dataset:
    values = data.values[index, 0]
    labels = data.labels[index]
    family_id = np.where(labels == SEIZURE_LABEL, 0, 1)
    t = np.arange(values.shape[1]) / SAMPLING_HZ
    return trajectory_dataset(
        values[:, None, :, None],
        np.broadcast_to(t, values.shape),
        [FAMILIES[k] for k in family_id],
        family_id,
        {},
        {**attrs, "split": split},
        extra_coords={"label": labels, "source_index": index},
    )


def _check(data: TsData, name: str) -> None:
    if data.values.shape[1] != 1:
        raise ValueError(f"{name}: Epilepsy2 is univariate, found {data.values.shape[1]} channels")
    unknown = sorted(set(data.labels) - {"0", "1"})
    if unknown:
        raise ValueError(f"{name}: unexpected labels {unknown}; expected '0' and '1'")


def load_epilepsy2(spec: Epilepsy2Spec, seed: int) -> dict[str, xr.Dataset]:
    """The ``train`` and ``adapt_train`` splits of Epilepsy2 (see the module docstring)."""
    directory = Path(spec.directory)
    if not epilepsy2_available(directory):
        raise FileNotFoundError(f"{TRAIN_FILE} not found in {directory}")
    train = read_ts(directory / TRAIN_FILE)
    _check(train, TRAIN_FILE)
    n = len(train.labels)
    attrs = {
        "dataset": "epilepsy2",
        "generator": f"mixer.data.epilepsy (UEA/UCR Epilepsy2 .ts files in {directory})",
        "solver": "none",
        "seed": int(seed),
        "label_polarity": POLARITY,
        "sampling_rate_hz": SAMPLING_HZ,
    }
    evidence = polarity_evidence(train.values[:, 0], train.labels)
    attrs.update({f"polarity_{k}": v for k, v in evidence.items()})
    if evidence["median_sd_seizure"] <= evidence["median_sd_non_seizure"]:
        logger.warning("Epilepsy2 polarity evidence disagrees with %s: %s", POLARITY, evidence)
    if (directory / TEST_FILE).is_file():
        test = read_ts(directory / TEST_FILE)
        _check(test, TEST_FILE)
        attrs["heldout"] = f"{TEST_FILE} (the archive's test set, {len(test.labels)} series)"
        return {
            "train": _split(train, np.arange(n), "train", attrs),
            "adapt_train": _split(test, np.arange(len(test.labels)), "adapt_train", attrs),
        }
    if spec.n_holdout >= n:
        raise ValueError(f"n_holdout={spec.n_holdout} leaves no training series (file has {n})")
    first = n - spec.n_holdout
    attrs["heldout"] = (
        f"{TEST_FILE} not found in {directory}: held out the last {spec.n_holdout} series of "
        f"{TRAIN_FILE} (series {first + 1}-{n}"
        + (", the archive's validation part)" if n == 80 and spec.n_holdout == 20 else ")")
    )
    logger.warning("Epilepsy2: %s", attrs["heldout"])
    return {
        "train": _split(train, np.arange(first), "train", attrs),
        "adapt_train": _split(train, np.arange(first, n), "adapt_train", attrs),
    }
