"""Zarr stores (round trip, atomic write) and the .ts / UCI text parsers."""

import numpy as np
import pytest
import xarray as xr

from mixer.data.layout import trajectory_dataset
from mixer.io.datasets import DataFormatError, read_dataset, read_ts, read_uci_sccts, write_dataset


def small_dataset(value=1.0):
    x = np.full((3, 2, 5, 2), value) + np.arange(60).reshape(3, 2, 5, 2)
    t = np.broadcast_to(np.linspace(0, 1, 5), (3, 5))
    return trajectory_dataset(
        x, t, ["25", "25", "35"], [0, 0, 1], {"c0": [1.0, 2.0, 3.0], "c1": [0.5, 0.6, np.nan]},
        {"dataset": "demo", "split": "train", "seed": 0, "rtol": 1e-10},
    )  # fmt: skip


def test_round_trip_is_identical(tmp_path):
    ds = small_dataset()
    write_dataset(ds, tmp_path / "a" / "train.zarr")
    back = read_dataset(tmp_path / "a" / "train.zarr")
    xr.testing.assert_identical(back, ds)
    assert back.x.dtype == np.float64 and back.family.values.tolist() == ["25", "25", "35"]


def test_overwrite_replaces_and_leaves_no_temporaries(tmp_path):
    write_dataset(small_dataset(1.0), tmp_path / "s.zarr")
    write_dataset(small_dataset(7.0), tmp_path / "s.zarr")
    assert read_dataset(tmp_path / "s.zarr").x.values[0, 0, 0, 0] == 7.0
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]


REAL_TO_ZARR = xr.Dataset.to_zarr


def failing_to_zarr(self, store, *args, **kwargs):
    """Write part of the store (the coordinates and ``t``, not ``x``), then die."""
    REAL_TO_ZARR(self.drop_vars("x"), store, *args, **kwargs)
    raise KeyboardInterrupt("killed mid-write")


def test_interrupted_write_leaves_nothing_at_target(tmp_path, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_zarr", failing_to_zarr)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(small_dataset(), tmp_path / "new.zarr")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_old_store(tmp_path, monkeypatch):
    write_dataset(small_dataset(1.0), tmp_path / "s.zarr")
    monkeypatch.setattr(xr.Dataset, "to_zarr", failing_to_zarr)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(small_dataset(7.0), tmp_path / "s.zarr")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]
    assert read_dataset(tmp_path / "s.zarr").x.values[0, 0, 0, 0] == 1.0


def test_case_colliding_names_are_refused(tmp_path):
    ds = small_dataset().assign_coords(param_C0=("env", [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="case"):
        write_dataset(ds, tmp_path / "x.zarr")
    with pytest.raises(FileNotFoundError):
        read_dataset(tmp_path / "x.zarr")


# ----------------------------------------------------------------------------- UCI SCCTS


def write_uci(path, rows):
    path.write_text("\n".join(" ".join(f"{v:.3f}" for v in r) for r in rows) + "\n")


def test_uci_round_trip(tmp_path):
    data = np.random.default_rng(0).uniform(10, 50, (600, 60)).round(3)
    write_uci(tmp_path / "sc.data", data)
    np.testing.assert_array_equal(read_uci_sccts(tmp_path / "sc.data"), data)


@pytest.mark.parametrize(
    ("mutate", "line", "expected"),
    [
        (lambda r: r.__setitem__(4, r[4][:-1]), 5, "59 values; expected 60"),
        (lambda r: r.__setitem__(9, r[9] + [1.0]), 10, "61 values; expected 60"),
        (lambda r: r.append([1.0] * 60), 601, "expected exactly 600"),
        (lambda r: r.pop(), 600, "file ends after 599 series"),
    ],
)
def test_uci_bad_files(tmp_path, mutate, line, expected):
    rows = [[1.0] * 60 for _ in range(600)]
    mutate(rows)
    path = tmp_path / "bad.data"
    write_uci(path, rows)
    with pytest.raises(DataFormatError, match=expected) as err:
        read_uci_sccts(path)
    assert str(path) in str(err.value) and f"line {line}:" in str(err.value)
    assert err.value.line == line and isinstance(err.value, ValueError)


def test_uci_non_numeric_and_missing(tmp_path):
    path = tmp_path / "bad.data"
    lines = [" ".join(["1.0"] * 60)] * 600
    lines[2] = lines[2].replace("1.0", "x1", 1)
    path.write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match=r"line 3: value 1 is 'x1'; expected a number"):
        read_uci_sccts(path)
    with pytest.raises(DataFormatError, match="does not exist"):
        read_uci_sccts(tmp_path / "nope.data")


# ----------------------------------------------------------------------------- .ts files

HEADER = (
    "# comment\n@problemName demo\n@univariate true\n@equalLength true\n"
    "@seriesLength 4\n@classLabel true a b\n@data\n"
)


def test_ts_round_trip(tmp_path):
    path = tmp_path / "d.ts"
    path.write_text(HEADER + "1,2,3,4:a\n\n0.5,-1,2e-3,7:b\n")
    data = read_ts(path)
    np.testing.assert_array_equal(data.values, [[[1, 2, 3, 4]], [[0.5, -1, 2e-3, 7]]])
    assert list(data.labels) == ["a", "b"] and data.header["problemname"] == "demo"


def test_ts_multivariate(tmp_path):
    path = tmp_path / "m.ts"
    path.write_text("@dimensions 2\n@classLabel true 0 1\n@data\n1,2,3:4,5,6:0\n7,8,9:1,2,3:1\n")
    data = read_ts(path)
    assert data.values.shape == (2, 2, 3) and data.values[1, 1, 2] == 3


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        ("1,2,3,4:a\n1,2,x,4:b\n", 9, "value 3 is 'x'; expected a number"),
        ("1,2,3,4:a\n1,2,3:b\n", 9, "length 3; expected 4"),
        ("1,2,3,4:a\n1,2,3,4\n", 9, "missing class label"),
        ("1,2,3,4:a\n1,2,3,4:\n", 9, "missing class label"),
        ("1,2,3,4:c\n", 8, "label 'c'; expected one of"),
        ("1,?,3,4:a\n", 8, "value 2 is '\\?'"),
        ("1,2,3,4:a\n1,2,3,4:5,6,7,8:b\n", 9, "2 channels; expected 1"),
        ("", 8, "no series after '@data'"),
    ],
)
def test_ts_bad_files(tmp_path, body, line, expected):
    path = tmp_path / "bad.ts"
    path.write_text(HEADER + body)
    with pytest.raises(DataFormatError, match=expected) as err:
        read_ts(path)
    assert str(path) in str(err.value) and err.value.line == line


def test_ts_inconsistent_length_without_header(tmp_path):
    path = tmp_path / "n.ts"
    path.write_text("@classLabel true 0 1\n@data\n1,2,3:0\n1,2:1\n")
    with pytest.raises(DataFormatError, match="line 4: series of shape"):
        read_ts(path)


def test_ts_missing_data_header_and_file(tmp_path):
    path = tmp_path / "h.ts"
    path.write_text("@problemName x\n@classLabel true 0 1\n")
    with pytest.raises(DataFormatError, match=r"line 3: reached the end without an '@data' line"):
        read_ts(path)
    path.write_text("@problemName x\n1,2,3:0\n@data\n")
    with pytest.raises(DataFormatError, match=r"line 2: expected a header line"):
        read_ts(path)
    with pytest.raises(DataFormatError, match="does not exist"):
        read_ts(tmp_path / "absent.ts")
