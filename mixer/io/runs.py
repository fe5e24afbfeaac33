"""Files of one training run: the best model, the training history (Zarr) and JSON metrics."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from mixer.history import SCALARS, History
from mixer.io.checkpoints import load_checkpoint, read_metadata, save_checkpoint
from mixer.io.datasets import read_dataset, write_dataset
from mixer.run_id import RunId

if TYPE_CHECKING:  # pandas is imported by runs_frame only
    import pandas as pd

__all__ = [
    "save_model",
    "load_model",
    "tracking_reference",
    "write_json",
    "read_json",
    "write_history",
    "read_history",
    "run_identity",
    "run_ids",
    "runs_frame",
]


def save_model(
    path: str | os.PathLike, model: Any, contexts: Any, metadata: Mapping[str, Any]
) -> None:
    """Write a trained model and its training contexts atomically. ``metadata["tracking"]``,
    when given, is where the training run was tracked (``Tracker.reference``)."""
    save_checkpoint(path, {"model": model, "contexts": contexts}, metadata=metadata)


def tracking_reference(path: str | os.PathLike) -> dict[str, str]:
    """Where the training run of the model at ``path`` was tracked (a ``Tracker.reference``,
    e.g. its MLflow store and run id), so later stages log into the same run; empty when the
    training was not tracked."""
    return dict(read_metadata(path).get("tracking", {}))


def load_model(path: str | os.PathLike, template_model: Any, template_contexts: Any):
    """Read a model written by ``save_model`` into like-shaped templates.

    Returns ``(model, contexts, metadata)``.
    """
    ckpt = load_checkpoint(path, {"model": template_model, "contexts": template_contexts})
    return ckpt.tree["model"], ckpt.tree["contexts"], ckpt.metadata


def write_json(path: str | os.PathLike, payload: Mapping[str, Any]) -> None:
    """Write JSON atomically (temporary file, then rename); NaN is written as null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_clean(payload), indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON file written by ``write_json``."""
    with open(path) as fh:
        return json.load(fh)


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    return value


def write_history(
    path: str | os.PathLike,
    history: History,
    contexts: np.ndarray,
    families: np.ndarray,
    attrs: Mapping[str, Any],
) -> None:
    """Store the training history as a Zarr Dataset (dims: step, gate_step, env, expert)."""
    h = history.to_arrays()
    scalars = {
        name: ("step", np.asarray(h[name], np.float64)) for name in SCALARS if name != "step"
    }
    ds = xr.Dataset(
        {
            **scalars,
            "gate_probs": (("gate_step", "env", "expert"), np.asarray(h["gate_probs"])),
            "routed": (("gate_step", "env"), np.asarray(h["routed"], np.int64)),
            "contexts": (("env", "context"), np.asarray(contexts)),
        },
        coords={
            "step": np.asarray(h["step"], np.int64),
            "gate_step": np.asarray(h["gate_step"], np.int64),
            "family": ("env", np.asarray(families).astype(str)),
        },
        attrs={k: v for k, v in attrs.items() if isinstance(v, (str, int, float, bool))},
    )
    write_dataset(ds, path)


def read_history(path: str | os.PathLike) -> xr.Dataset:
    """Read a history written by ``write_history``."""
    return read_dataset(path)


def run_identity(path: str | os.PathLike) -> RunId:
    """The run a result file belongs to, as the file records it: the ``"run"`` entry of a
    JSON file, the ``run`` attribute of a Zarr history, the ``run`` metadata of a model file.
    Files written before results recorded their run fall back to the run folder's path
    (``RunId.from_path``; dataset unknown)."""
    stored: Any = None
    suffix = Path(path).suffix
    if suffix == ".json":
        stored = read_json(path).get("run")
    elif suffix == ".zarr":
        stored = read_dataset(path).attrs.get("run")
    elif suffix == ".eqx":
        stored = read_metadata(path).get("run")
    return _stored_identity(stored, path)


def _stored_identity(stored: Any, path: str | os.PathLike) -> RunId:
    if stored is None:
        return RunId.from_path(path)
    return RunId.from_json(stored) if isinstance(stored, str) else RunId.from_dict(stored)


def run_ids(path: str | os.PathLike) -> dict[str, Any]:
    """``{backbone, variant, seed}`` of a result file (from :func:`run_identity`)."""
    run = run_identity(path)
    return {"backbone": run.backbone, "variant": run.variant, "seed": run.seed}


def runs_frame(paths: list[str], metrics: list[str]) -> pd.DataFrame:
    """One row per run JSON file: backbone, variant, seed (the run the file records) and the
    given metrics."""
    import pandas as pd

    rows = []
    for path in paths:
        record = read_json(path)
        missing = [m for m in metrics if m not in record]
        if missing:
            raise KeyError(f"{path} lacks the metric(s) {missing}")
        run = _stored_identity(record.get("run"), path)
        ids = {"backbone": run.backbone, "variant": run.variant, "seed": run.seed}
        rows.append({**ids, **{m: record[m] for m in metrics}})
    return pd.DataFrame(rows)
