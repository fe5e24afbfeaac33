"""Dataset names, their specs (every size knob, DATASETS.md defaults) and one build entry point.

>>> spec = spec_from_config("odebench10b", {"n_ics": {"test": 8}})
>>> splits = build_dataset("odebench10b", spec, seed=0)   # {split: xarray.Dataset}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import xarray as xr

from mixer.data.epilepsy import Epilepsy2Spec, epilepsy2_available, load_epilepsy2
from mixer.data.gendyn import GENDYN_NAMES, GenDynSpec, generate_gendyn
from mixer.data.integrate import IntegratorConfig
from mixer.data.odebench import ODEBENCH_SETS, OdeBenchSpec, generate_odebench
from mixer.data.sccts import SccTsSpec, generate_sccts
from mixer.data.splits import IVP_SPLITS, SplitCounts

__all__ = [
    "DatasetSpec",
    "Epilepsy2Spec",
    "INTEGRATOR_KEYS",
    "GenDynSpec",
    "OdeBenchSpec",
    "SccTsSpec",
    "DATASET_NAMES",
    "IVP_DATASETS",
    "SplitCounts",
    "build_dataset",
    "default_spec",
    "epilepsy2_available",
    "spec_from_config",
    "split_names",
]

DATASET_NAMES: tuple[str, ...] = (
    "odebench2", "odebench10a", "odebench10b", "lv", "go", "sm", "sccts", "epilepsy2",
)  # fmt: skip

IVP_DATASETS: tuple[str, ...] = (*ODEBENCH_SETS, *GENDYN_NAMES)
"""The datasets simulated as initial-value problems (the ``simulate_ivp`` rule)."""

DatasetSpec = OdeBenchSpec | GenDynSpec | SccTsSpec | Epilepsy2Spec

_SPEC_TYPES: dict[str, type] = {
    **dict.fromkeys(ODEBENCH_SETS, OdeBenchSpec),
    **dict.fromkeys(GENDYN_NAMES, GenDynSpec),
    "sccts": SccTsSpec,
    "epilepsy2": Epilepsy2Spec,
}


def _check_name(name: str) -> None:
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; known: {DATASET_NAMES}")


def default_spec(name: str) -> DatasetSpec:
    """The DATASETS.md defaults of ``name`` (ODEBench-10B: 16 train / 4 adapt envs per family)."""
    _check_name(name)
    if name == "odebench10b":
        return OdeBenchSpec(train_envs_per_family=16, adapt_envs_per_family=4)
    return _SPEC_TYPES[name]()


_COUNT_KEYS = ("n_ics", "n_traj")

#: The spec field holding a simulated dataset's ``IntegratorConfig``, and its flat config keys.
_INTEGRATOR = "integrator"
INTEGRATOR_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(IntegratorConfig))


def _convert(name: str, key: str, value: object, current: object) -> object:
    """Coerce a config value (YAML types) to the field's type."""
    if value is None or isinstance(value, SplitCounts):
        return value
    if key in _COUNT_KEYS:
        if not isinstance(value, Mapping):
            raise ValueError(f"{name}.{key} must be a mapping of split -> count, got {value!r}")
        base = current if isinstance(current, SplitCounts) else default_counts(name)
        try:
            return base.updated(value)
        except ValueError as err:
            raise ValueError(f"{name}.{key}: {err}") from None
    if key == "families":
        if not isinstance(value, Iterable) or isinstance(value, (str, Mapping)):
            raise ValueError(f"{name}.families must be a list of family ids, got {value!r}")
        return tuple(int(v) for v in value)
    return value


def default_counts(name: str) -> SplitCounts:
    """Default trajectories per environment and split of an IVP dataset."""
    spec = default_spec(name)
    if isinstance(spec, OdeBenchSpec):
        return spec.n_ics
    if isinstance(spec, GenDynSpec):
        return spec.counts(name)
    raise ValueError(f"{name} has no per-split trajectory counts")


def _config_keys(spec: DatasetSpec) -> list[str]:
    """The keys of a dataset's config section: the spec's fields, with the fields of its
    ``integrator`` in place of that field (they stay flat in the section)."""
    keys = [f.name for f in dataclasses.fields(spec)]
    if _INTEGRATOR in keys:
        keys.remove(_INTEGRATOR)
        keys += INTEGRATOR_KEYS
    return keys


def spec_from_config(name: str, mapping: Mapping[str, object] | None) -> DatasetSpec:
    """The spec of ``name`` with the defaults overridden by ``mapping`` (a config section).

    The solver settings (``INTEGRATOR_KEYS``: ``solver``, ``rtol``, ``atol``, ``max_steps``,
    ``chunk_size``) are flat keys of the section; they set the spec's ``integrator``.

    Raises:
        ValueError: for an unknown dataset, an unknown key (the message names it) or an
            invalid value.
    """
    spec = default_spec(name)
    mapping = dict(mapping or {})
    known = _config_keys(spec)
    changes: dict[str, Any] = {}
    numerics: dict[str, Any] = {}
    for key, value in mapping.items():
        if key not in known:
            raise ValueError(
                f"unknown key {key!r} in the config of dataset {name!r}; known: {sorted(known)}"
            )
        if key in INTEGRATOR_KEYS:
            numerics[key] = value
        else:
            changes[key] = _convert(name, key, value, getattr(spec, key))
    try:
        if numerics:
            changes[_INTEGRATOR] = dataclasses.replace(getattr(spec, _INTEGRATOR), **numerics)
        return dataclasses.replace(spec, **changes)
    except TypeError as err:  # e.g. a string where a number is expected
        raise ValueError(f"invalid value in the config of dataset {name!r}: {err}") from None


def split_names(name: str, spec: DatasetSpec | None = None) -> tuple[str, ...]:
    """The splits that :func:`build_dataset` returns for ``name``."""
    _check_name(name)
    del spec  # the split names do not depend on the sizes
    if name == "sccts":
        return ("train",)
    if name == "epilepsy2":
        return ("train", "adapt_train")
    return IVP_SPLITS


def build_dataset(name: str, spec: DatasetSpec, seed: int) -> dict[str, xr.Dataset]:
    """Generate (or load) every split of dataset ``name``: ``{split: xarray.Dataset}``."""
    _check_name(name)
    expected = _SPEC_TYPES[name]
    if not isinstance(spec, expected):
        raise TypeError(f"{name} needs a {expected.__name__}, got {type(spec).__name__}")
    if isinstance(spec, OdeBenchSpec):
        out = generate_odebench(name, spec, seed)
    elif isinstance(spec, GenDynSpec):
        out = generate_gendyn(name, spec, seed)
    elif isinstance(spec, SccTsSpec):
        out = generate_sccts(spec, seed)
    else:
        out = load_epilepsy2(spec, seed)
    if tuple(out) != split_names(name, spec):  # pragma: no cover - a generator bug
        raise RuntimeError(f"{name} produced splits {tuple(out)}, expected {split_names(name)}")
    return out
