"""The training key: everything a training result depends on, and the checkpoint folder it names.

A checkpoint may only be resumed by a run whose result would be the same (SPEC §2.5). The key
hashes four parts, each recorded on its own with the trained model so that a mismatch can be
traced to its cause:

- ``settings``: the hash of the run's training settings (``RunSpec.training_hash``: dataset
  name, backbone, variant, run seed, context size, split, backbone options, TrainConfig with
  solver and gate, history cadence); adaptation settings are not part of it.
- ``data``: a content hash of the arrays training reads (``x`` and ``t`` of the training and
  validation data, as the float32 ``EnvData`` the fit loop sees). Content rather than the
  stores' provenance attributes: it covers every way the data can change (the global ``seed``,
  a simulator fix, SCCTS switched from generated to the UCI file, new Epilepsy2 files), needs no
  writer to record anything, and hashing a few MB costs milliseconds.
- ``code``: a hash of the library code training runs, computed from the source (the syntax tree,
  so comments and formatting do not count) of every ``mixer`` module reachable by imports from
  ``mixer.experiment`` (the training entry point), plus the versions of the numerical packages.
  Automatic rather than a hand-bumped constant: a fix in the training code that someone forgot
  to announce cannot silently resume an old state. The price is a fresh start whenever that code
  changes, and only for jobs Snakemake reruns anyway (it does not track library code).

Checkpoints live in ``<run>/checkpoints/<key digest>``; folders of other keys next to it are
stale: they are never resumed, they are kept (a reverted change resumes them), and each one is
named in the log when a run starts.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

import mixer
from mixer.config import config_hash
from mixer.envdata import EnvData
from mixer.provenance import package_versions

__all__ = [
    "TrainingKey",
    "training_key",
    "data_digest",
    "code_digest",
    "checkpoint_dir",
    "stale_checkpoint_dirs",
]

log = logging.getLogger(__name__)

TRAINING_ENTRY = "mixer.experiment"


@dataclasses.dataclass(frozen=True)
class TrainingKey:
    """The parts of a training key (short hex hashes) and their combined ``digest``."""

    settings: str
    data: str
    code: str

    @property
    def digest(self) -> str:
        """The key: one hash of the three parts (names the run's checkpoint folder)."""
        return config_hash(dataclasses.asdict(self))

    def metadata(self) -> dict[str, str]:
        """Flat record for model files, summaries and tags (``load_trained`` reads
        ``training_settings``)."""
        return {
            "training_key": self.digest,
            "training_settings": self.settings,
            "training_data": self.data,
            "training_code": self.code,
        }


def data_digest(*datasets: EnvData) -> str:
    """Content hash of the ``x`` and ``t`` arrays (dtype, shape and bytes) of ``datasets``,
    in order."""
    digest = hashlib.sha256()
    for data in datasets:
        for array in (data.x, data.t):
            values = np.ascontiguousarray(np.asarray(array))
            digest.update(f"{values.dtype.str}{values.shape}".encode())
            digest.update(values.tobytes())
    return digest.hexdigest()[:12]


def _module_path(root: Path, name: str) -> Path | None:
    """The source file of module ``name`` (``mixer.a.b``) under the package folder ``root``;
    None when there is none (e.g. ``mixer.gating.GateConfig`` names a class)."""
    parts = name.split(".")[1:]
    if not parts:
        return root / "__init__.py"
    base = root.joinpath(*parts)
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _imported(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """Names of the ``mixer`` modules (and their would-be submodules) ``tree`` imports."""
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {n for n in found if n == "mixer" or n.startswith("mixer.")}


def _parents(name: str) -> Iterable[str]:
    parts = name.split(".")
    return (".".join(parts[:i]) for i in range(1, len(parts)))


def training_modules(entry: str = TRAINING_ENTRY) -> dict[str, Path]:
    """Every ``mixer`` module reachable by imports (module level or inside functions) from
    ``entry``, with its parent packages, mapped to its source file."""
    root = Path(mixer.__file__).parent
    found: dict[str, Path] = {}
    todo = [entry]
    while todo:
        name = todo.pop()
        path = _module_path(root, name)
        if name in found or path is None:
            continue
        found[name] = path
        tree = ast.parse(path.read_text(), filename=str(path))
        todo.extend(_imported(tree, name, path.name == "__init__.py"))
        todo.extend(_parents(name))
    return dict(sorted(found.items()))


def code_digest(entry: str = TRAINING_ENTRY) -> str:
    """Hash of the syntax trees of :func:`training_modules` and the numerical packages'
    versions (comments and formatting do not change it)."""
    digest = hashlib.sha256()
    for name, path in training_modules(entry).items():
        digest.update(name.encode())
        digest.update(ast.dump(ast.parse(path.read_text(), filename=str(path))).encode())
    digest.update(config_hash(package_versions()).encode())
    return digest.hexdigest()[:12]


def training_key(
    settings: str, train: EnvData, val: EnvData, *, code: str | None = None
) -> TrainingKey:
    """The training key of a run with training-settings hash ``settings`` (from
    ``RunSpec.training_hash``) on ``train``/``val``; ``code`` defaults to :func:`code_digest`."""
    return TrainingKey(
        settings=settings,
        data=data_digest(train, val),
        code=code_digest() if code is None else code,
    )


def stale_checkpoint_dirs(root: str | Path, key: TrainingKey) -> list[Path]:
    """Folders under ``root`` written under another training key (sorted)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != key.digest)


def checkpoint_dir(root: str | Path, key: TrainingKey) -> Path:
    """The checkpoint folder of ``key`` under ``root`` (``root/<key.digest>``).

    Each stale folder (another key: other data, seed, settings or code) is named in the log
    in one line; it is neither resumed nor removed.
    """
    path = Path(root) / key.digest
    for stale in stale_checkpoint_dirs(root, key):
        log.warning(
            "stale checkpoint folder %s (another training key: data, seed, settings or "
            "code differ) is not resumed; this run checkpoints in %s",
            stale,
            path,
        )
    return path
