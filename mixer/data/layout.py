"""The canonical in-memory layout of every dataset split (an ``xarray.Dataset``).

- ``x``: dims ``(env, traj, time, state)``, float64 (initial conditions are ``x[:, :, 0]``);
- ``t``: dims ``(env, time)``, float64 (families may have different horizons);
- per-environment coordinates ``family`` (string), ``family_id`` (int, 0..F-1) and one
  ``param_<name>`` float coordinate per parameter (NaN where a family lacks it);
- attrs: JSON-serialisable scalars and strings only (generator, solver, seed, versions, ...).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

import mixer

AttrValue = str | int | float | bool


def version_attrs() -> dict[str, str]:
    """Versions of the packages that determine the generated numbers."""
    out = {"mixer_version": mixer.__version__, "numpy_version": np.__version__}
    for pkg in ("jax", "diffrax", "xarray"):
        try:
            out[f"{pkg}_version"] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - always installed
            out[f"{pkg}_version"] = "unknown"
    return out


def _check_attrs(attrs: Mapping[str, object]) -> dict[str, AttrValue]:
    clean: dict[str, AttrValue] = {}
    for key, value in attrs.items():
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            value = value.item()
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"attribute {key!r} must be a str/int/float/bool, got {type(value)}")
        clean[key] = value
    return clean


def trajectory_dataset(
    x: np.ndarray,
    t: np.ndarray,
    family: ArrayLike,
    family_id: ArrayLike,
    params: Mapping[str, np.ndarray],
    attrs: Mapping[str, object],
    extra_coords: Mapping[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Assemble one split in the canonical layout.

    Args:
        x: ``(env, traj, time, state)`` trajectories.
        t: ``(env, time)`` time grids.
        family: family name per environment.
        family_id: integer family index per environment.
        params: ``{name: (env,) values}``; stored as coordinates ``param_<name>``.
        attrs: dataset attributes (the package versions are added here).
        extra_coords: further per-environment coordinates (e.g. ``label``).
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    n_env = x.shape[0]
    if x.ndim != 4 or t.shape != (n_env, x.shape[2]):
        raise ValueError(f"inconsistent shapes: x {x.shape}, t {t.shape}")
    coords: dict[str, tuple[str, np.ndarray]] = {
        "family": ("env", np.asarray(family, dtype=str)),
        "family_id": ("env", np.asarray(family_id, dtype=np.int64)),
    }
    for name, values in params.items():
        coords[f"param_{name}"] = ("env", np.asarray(values, dtype=np.float64))
    for name, values in (extra_coords or {}).items():
        coords[name] = ("env", np.asarray(values))
    for name, (_, values) in coords.items():
        if values.shape != (n_env,):
            raise ValueError(f"coordinate {name!r} has shape {values.shape}, expected ({n_env},)")
    all_attrs = _check_attrs({**attrs, **version_attrs()})
    return xr.Dataset(
        {
            "x": (("env", "traj", "time", "state"), x),
            "t": (("env", "time"), t),
        },
        coords=coords,
        attrs=all_attrs,
    )
