"""Epilepsy2 loader: the offline files, label polarity and the held-out rule."""

import shutil

import numpy as np
import pytest

from mixer.data import Epilepsy2Spec, build_dataset, epilepsy2_available
from mixer.data.epilepsy import SEIZURE_LABEL, polarity_evidence
from mixer.io.datasets import read_ts

README_LABELS = ["0"] * 30 + ["1"] * 30 + ["0"] * 10 + ["1"] * 10


def test_train_file_matches_readme(epilepsy_dir):
    data = read_ts(epilepsy_dir / "Epilepsy2_TRAIN.ts")
    assert data.values.shape == (80, 1, 178)
    assert list(data.labels) == README_LABELS
    val = read_ts(epilepsy_dir / "Epilepsy2_VAL.ts")
    np.testing.assert_array_equal(val.values, data.values[60:])


def test_polarity_seizure_has_larger_amplitude(epilepsy_dir):
    data = read_ts(epilepsy_dir / "Epilepsy2_TRAIN.ts")
    ev = polarity_evidence(data.values[:, 0], data.labels)
    assert SEIZURE_LABEL == "0"
    assert ev["median_sd_seizure"] > 1.5 * ev["median_sd_non_seizure"]
    assert ev["p_sd_seizure_gt_non_seizure"] > 0.9


def test_fallback_holds_out_the_validation_part(epilepsy_dir):
    assert epilepsy2_available(epilepsy_dir)
    splits = build_dataset("epilepsy2", Epilepsy2Spec(str(epilepsy_dir)), seed=0)
    train, held = splits["train"], splits["adapt_train"]
    assert train.x.shape == (60, 1, 178, 1) and held.x.shape == (20, 1, 178, 1)
    np.testing.assert_array_equal(held.source_index.values, np.arange(60, 80))
    assert list(held.label.values) == README_LABELS[60:]
    assert "Epilepsy2_TEST.ts not found" in held.attrs["heldout"]
    assert "last 20" in held.attrs["heldout"]
    for ds in (train, held):
        fam = ds.family.values
        assert set(fam[ds.label.values == "0"]) == {"seizure"}
        assert set(fam[ds.label.values == "1"]) == {"non-seizure"}
        assert ds.attrs["label_polarity"].startswith("file label '0' = seizure")
        np.testing.assert_allclose(ds.t.values[0, :2], [0, 1 / 178])


def test_test_file_is_used_when_present(epilepsy_dir, tmp_path):
    shutil.copy(epilepsy_dir / "Epilepsy2_TRAIN.ts", tmp_path / "Epilepsy2_TRAIN.ts")
    lines = (epilepsy_dir / "Epilepsy2_VAL.ts").read_text().splitlines()
    (tmp_path / "Epilepsy2_TEST.ts").write_text("\n".join(lines[:-3]) + "\n")  # 17 series
    splits = build_dataset("epilepsy2", Epilepsy2Spec(str(tmp_path)), seed=0)
    assert splits["train"].sizes["env"] == 80
    assert splits["adapt_train"].sizes["env"] == 17
    assert splits["adapt_train"].attrs["heldout"].startswith("Epilepsy2_TEST.ts")


def test_missing_directory(tmp_path):
    assert not epilepsy2_available(tmp_path)
    with pytest.raises(FileNotFoundError, match="Epilepsy2_TRAIN.ts"):
        build_dataset("epilepsy2", Epilepsy2Spec(str(tmp_path)), seed=0)
