"""Zarr stores (round trip, atomic write) and the .ts / UCI text parsers."""

import warnings

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


# ------------------------------------------------------- damaged stores (issue 15, item 2)


def _chunk_files(store, variable):
    return [p for p in (store / variable).iterdir() if not p.name.startswith(".")]


def test_missing_chunk_names_the_store_instead_of_reading_nan(tmp_path):
    store = write_dataset(small_dataset(), tmp_path / "train.zarr")
    for chunk in _chunk_files(store, "x"):
        chunk.unlink()  # zarr reads a missing chunk back as its fill value, NaN
    with pytest.raises(
        DataFormatError,
        match=r"train.zarr: 60 of 60 values of 'x' are not "
        "finite",
    ) as err:
        read_dataset(store)
    assert err.value.path == str(store)


def test_non_finite_time_grid_is_refused(tmp_path):
    ds = small_dataset()
    ds["t"] = ds["t"].copy(data=np.where(np.arange(5) == 2, np.nan, ds["t"].values))
    store = write_dataset(ds, tmp_path / "t.zarr")
    with pytest.raises(DataFormatError, match="3 of 15 values of 't' are not finite"):
        read_dataset(store)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda store: [c.write_bytes(b"not blosc") for c in _chunk_files(store, "x")],
            "cannot read the store",
        ),
        (lambda store: (store / ".zmetadata").write_text("{not json"), "cannot read the store"),
        (lambda store: (store / ".zmetadata").unlink(), "cannot read the store"),
    ],
    ids=["corrupt-chunk", "corrupt-json", "no-consolidated-metadata"],
)
def test_unreadable_store_errors_name_the_store(tmp_path, damage, expected):
    store = write_dataset(small_dataset(), tmp_path / "s.zarr")
    damage(store)
    with pytest.raises(DataFormatError, match=expected) as err:
        read_dataset(store)
    assert str(store) in str(err.value) and err.value.__cause__ is not None


def test_snakemake_marker_in_a_store_reads_without_warnings(tmp_path):
    """Snakemake marks a finished ``directory()`` output with ``.snakemake_timestamp``."""
    store = write_dataset(small_dataset(), tmp_path / "s.zarr")
    (store / ".snakemake_timestamp").touch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xr.testing.assert_identical(read_dataset(store), small_dataset())


def test_history_with_nan_validation_steps_still_reads(tmp_path):
    """Only the simulated data must be finite: NaN elsewhere (e.g. steps without validation
    in a training history) is data."""
    ds = xr.Dataset({"val_rel_mse": ("step", [np.nan, 0.5])})
    store = write_dataset(ds, tmp_path / "history.zarr")
    assert np.isnan(read_dataset(store)["val_rel_mse"].values[0])


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


def test_ts_with_bytes_that_are_not_utf8_names_file_and_line(tmp_path):
    """Issue 15, item 2: a bare UnicodeDecodeError named neither the file nor the line."""
    path = tmp_path / "latin1.ts"
    path.write_bytes(HEADER.encode() + b"1,2,3,4:a\n1,2,\xe93,4:b\n")
    with pytest.raises(DataFormatError, match="not UTF-8 text") as err:
        read_ts(path)
    assert err.value.path == str(path) and err.value.line == 9
