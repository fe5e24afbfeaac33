"""Dataset files: Zarr stores of the canonical splits, and parsers of the raw text formats.

- :func:`write_dataset` / :func:`read_dataset`: one ``xarray.Dataset`` per Zarr store (Zarr
  format 2 with consolidated metadata).  Writing is atomic: the store is written into a
  temporary sibling directory and renamed into place, so an interrupted write never leaves
  anything at the target path.
- :func:`read_ts`: sktime/aeon ``.ts`` text files (``@`` header lines, ``@data``, then one
  series per line, channels separated by ``:``, values by ``,``, and the class label last).
- :func:`read_uci_sccts`: the UCI ``synthetic_control.data`` file (600 lines x 60 numbers).

Malformed input raises :class:`DataFormatError` naming the file, the 1-based line and what
was expected. A store that cannot be read (missing or corrupt metadata, a chunk that does not
decompress) or whose simulated data ``x``/``t`` are not finite (a missing chunk file reads back
as NaN) raises it too, naming the store.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import xarray as xr


class DataFormatError(ValueError):
    """A data file is missing or malformed; ``path`` and ``line`` (1-based or None) say where."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


# --------------------------------------------------------------------------- Zarr stores


def _check_names(ds: xr.Dataset) -> None:
    seen: dict[str, str] = {}
    for name in map(str, ds.variables):
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ValueError(
                f"variables {other!r} and {name!r} differ only by case; their Zarr arrays "
                "would collide on case-insensitive file systems"
            )


def write_dataset(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` to a Zarr store at ``path`` atomically (an existing store is replaced).

    Returns the path written.
    """
    path = Path(path)
    _check_names(ds)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    try:
        ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            path.rename(old / "store")
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# Variables whose every value must be finite: the trajectories and their time grids.
_FINITE = ("x", "t")


def _load(path: Path) -> xr.Dataset:
    # Snakemake marks a finished directory() output with a `.snakemake_timestamp` file, which
    # zarr warns about whenever it lists the store: not part of the data, not worth a word.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"Object at \.snakemake_timestamp is not "
            "recognized as a component of a Zarr hierarchy",
        )
        with xr.open_zarr(path, consolidated=True) as ds:
            return ds.load()


def _check_finite(ds: xr.Dataset, path: Path) -> None:
    for name in _FINITE:
        if name not in ds.variables:
            continue
        values = np.asarray(ds[name].values)
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        if bad:
            raise DataFormatError(
                path,
                None,
                f"{bad} of {values.size} values of {name!r} are not finite (a "
                "missing or damaged chunk file reads back as NaN); delete the store and rerun "
                "the workflow to rebuild it",
            )


def read_dataset(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a store written by :func:`write_dataset` fully into memory.

    Raises ``FileNotFoundError`` when there is no store at ``path`` and
    :class:`DataFormatError` naming the store when it cannot be read (metadata, compression)
    or when its trajectories ``x`` or times ``t`` hold non-finite values.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no dataset store at {path}")
    try:
        ds = _load(path)
    except Exception as error:  # zarr, numcodecs, JSON and OS errors alike: name the store
        raise DataFormatError(
            path, None, f"cannot read the store ({type(error).__name__}: {error})"
        ) from error
    _check_finite(ds, path)
    return ds


# --------------------------------------------------------------------------- text parsers


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """The stripped lines of a UTF-8 text file with their 1-based numbers; bytes that are not
    UTF-8 raise :class:`DataFormatError` naming the file and the line."""
    if not path.is_file():
        raise DataFormatError(path, None, "file does not exist")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataFormatError(
                    path,
                    number,
                    f"not UTF-8 text ({error.reason} at byte {error.start} of the line)",
                ) from None
            yield number, text.strip()


def _parse_numbers(path: Path, number: int, text: str, sep: str | None) -> np.ndarray:
    fields = text.split(sep)
    values = np.empty(len(fields), dtype=np.float64)
    for k, field in enumerate(fields):
        try:
            value = float(field)
        except ValueError:
            raise DataFormatError(
                path, number, f"value {k + 1} is {field.strip()!r}; expected a number"
            ) from None
        if not math.isfinite(value):
            raise DataFormatError(
                path, number, f"value {k + 1} is {field.strip()!r}; expected a finite number"
            )
        values[k] = value
    return values


def read_uci_sccts(
    path: str | os.PathLike[str], n_series: int = 600, length: int = 60
) -> np.ndarray:
    """Read ``synthetic_control.data``: ``n_series`` lines of ``length`` whitespace-separated
    numbers (blank lines are ignored).  Returns ``(n_series, length)`` float64."""
    path = Path(path)
    rows: list[np.ndarray] = []
    last = 0
    for number, line in _lines(path):
        last = number
        if not line:
            continue
        if len(rows) == n_series:
            raise DataFormatError(path, number, f"expected exactly {n_series} series, found more")
        row = _parse_numbers(path, number, line, None)
        if row.size != length:
            raise DataFormatError(path, number, f"{row.size} values; expected {length}")
        rows.append(row)
    if len(rows) != n_series:
        raise DataFormatError(
            path, last + 1, f"file ends after {len(rows)} series; expected {n_series}"
        )
    return np.stack(rows)


@dataclasses.dataclass(frozen=True)
class TsData:
    """Contents of a ``.ts`` file: ``values (series, channel, time)``, ``labels (series,)``
    (strings; empty when the file has no labels) and the header (lower-case keys)."""

    values: np.ndarray
    labels: np.ndarray
    header: dict[str, str]


def _ts_header(path: Path, number: int, line: str, header: dict[str, str]) -> None:
    if not line.startswith("@"):
        raise DataFormatError(path, number, "expected a header line starting with '@' or '@data'")
    key, _, value = line[1:].partition(" ")
    header[key.lower()] = value.strip()


def _ts_label(path: Path, number: int, parts: list[str], allowed: set[str]) -> str:
    label = parts.pop().strip() if len(parts) > 1 else ""
    if not label:
        raise DataFormatError(path, number, "missing class label; expected ':<label>' at the end")
    if allowed and label not in allowed:
        raise DataFormatError(path, number, f"label {label!r}; expected one of {sorted(allowed)}")
    return label


def _ts_expectations(header: dict[str, str]) -> tuple[bool, set[str], int | None, int | None]:
    tokens = header.get("classlabel", "true").split()
    has_labels = not tokens or tokens[0].lower() == "true"
    allowed = set(tokens[1:]) if has_labels else set()
    channels = 1 if header.get("univariate", "").lower() == "true" else None
    if "dimensions" in header:
        channels = int(header["dimensions"])
    length = None
    if header.get("equallength", "true").lower() == "true" and "serieslength" in header:
        length = int(header["serieslength"])
    return has_labels, allowed, channels, length


def _ts_series(path, number, line, expect) -> tuple[np.ndarray, str]:
    has_labels, allowed, channels, length = expect
    parts = line.split(":")
    label = _ts_label(path, number, parts, allowed) if has_labels else ""
    rows = [_parse_numbers(path, number, part, ",") for part in parts]
    if channels is not None and len(rows) != channels:
        raise DataFormatError(path, number, f"{len(rows)} channels; expected {channels}")
    for row in rows:
        if length is not None and row.size != length:
            raise DataFormatError(path, number, f"series of length {row.size}; expected {length}")
        if row.size != rows[0].size:
            raise DataFormatError(path, number, "channels of different lengths")
    return np.stack(rows), label


def read_ts(path: str | os.PathLike[str]) -> TsData:
    """Read an sktime/aeon ``.ts`` file of equal-length series.

    Blank lines and ``#`` comments are skipped.  The number of channels and the length are
    fixed by the header (``@univariate``/``@dimensions``, ``@seriesLength``) when given, else
    by the first series; labels are required unless ``@classLabel false``, and must be among
    the declared ones.
    """
    path = Path(path)
    header: dict[str, str] = {}
    series: list[np.ndarray] = []
    labels: list[str] = []
    expect = None
    last = 0
    for number, line in _lines(path):
        last = number
        if not line or line.startswith("#"):
            continue
        if expect is None:
            if line.lower() == "@data":
                try:
                    expect = _ts_expectations(header)
                except ValueError as err:
                    raise DataFormatError(path, number, f"bad header value ({err})") from None
            else:
                _ts_header(path, number, line, header)
            continue
        values, label = _ts_series(path, number, line, expect)
        if series and values.shape != series[0].shape:
            raise DataFormatError(
                path, number, f"series of shape {values.shape}; expected {series[0].shape} "
                "(channels, length) like the first series"
            )  # fmt: skip
        series.append(values)
        labels.append(label)
    if expect is None:
        raise DataFormatError(path, last + 1, "reached the end without an '@data' line")
    if not series:
        raise DataFormatError(path, last + 1, "no series after '@data'")
    return TsData(np.stack(series), np.asarray(labels, dtype=str), header)
