"""Atomic checkpoints of pytrees (training states) with a JSON metadata header.

File layout: a magic line, one line of JSON (``metadata`` chosen by the caller plus the shapes
and dtypes of the free-form ``arrays``), then the leaves written by
``eqx.tree_serialise_leaves``. A checkpoint is written to a temporary file in the same
directory, flushed to disk and moved into place with ``os.replace``, so a reader (or a job
restarted after a crash) only ever sees a complete old or a complete new checkpoint.

Loading needs a template of the same structure and shapes (e.g. a freshly initialised state);
PRNG key arrays (typed keys) are stored as their key data and re-wrapped on load.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "read_metadata"]

_MAGIC = b"MIXER-CHECKPOINT 1\n"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the pytree, the caller's metadata and the free-form arrays."""

    tree: Any
    metadata: dict[str, Any]
    arrays: dict[str, np.ndarray]


def _is_typed_key(leaf: Any) -> bool:
    if isinstance(leaf, jax.ShapeDtypeStruct) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        raise TypeError("a shape-only template cannot hold typed PRNG keys; pass real keys")
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _encode(tree: Any) -> Any:
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_typed_key(x) else x, tree)


def _decode(loaded: Any, template: Any) -> Any:
    def one(value, like):
        if _is_typed_key(like):
            return jax.random.wrap_key_data(value, impl=jax.random.key_impl(like))
        return value

    return jax.tree.map(one, loaded, template)


def save_checkpoint(
    path: str | os.PathLike,
    tree: Any,
    *,
    metadata: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write ``tree`` (a pytree of arrays), JSON-serialisable ``metadata`` and named NumPy
    ``arrays`` of any shape (e.g. a growing history) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.asarray(value) for name, value in (arrays or {}).items()}
    header = {
        "metadata": dict(metadata),
        "arrays": {n: {"shape": list(a.shape), "dtype": a.dtype.str} for n, a in arrays.items()},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC)
            f.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            eqx.tree_serialise_leaves(f, (_encode(tree), arrays))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_header(f) -> dict[str, Any]:
    if f.readline() != _MAGIC:
        raise ValueError(f"{f.name} is not a mixer checkpoint (bad magic line)")
    return json.loads(f.readline())


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a checkpoint, without reading its arrays."""
    with open(path, "rb") as f:
        return _read_header(f)["metadata"]


def load_checkpoint(path: str | os.PathLike, template: Any) -> Checkpoint:
    """Read a checkpoint into a like-shaped ``template`` pytree.

    The template's array leaves may be ``jax.ShapeDtypeStruct`` (e.g. from
    ``eqx.filter_eval_shape``), except typed PRNG keys.

    Raises ``ValueError`` when the file is not a checkpoint and ``RuntimeError`` (from
    Equinox) when a stored leaf does not have the template's shape.
    """
    with open(path, "rb") as f:
        header = _read_header(f)
        like_arrays = {
            name: np.zeros(layout["shape"], dtype=np.dtype(layout["dtype"]))
            for name, layout in header["arrays"].items()
        }
        loaded, arrays = eqx.tree_deserialise_leaves(f, (_encode(template), like_arrays))
        if f.read(1):
            raise ValueError(f"{path}: trailing data after the checkpoint (template too small?)")
    return Checkpoint(
        tree=_decode(loaded, template),
        metadata=header["metadata"],
        arrays={name: np.asarray(a) for name, a in arrays.items()},
    )
