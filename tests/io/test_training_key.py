"""The training key (SPEC §2.5): data, seed, model and training settings and code, never the
adaptation settings; the checkpoint folder it names and the stale folders it logs."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
import yaml

from mixer.config import validate_config
from mixer.envdata import EnvData
from mixer.experiment import run_spec
from mixer.io.training_key import (
    TrainingKey,
    checkpoint_dir,
    code_digest,
    data_digest,
    training_key,
    training_modules,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def config():
    return validate_config(yaml.safe_load((ROOT / "config/test.yaml").read_text()), SCHEMA)


def lv_run(cfg=None, seed=0):
    cfg = config() if cfg is None else cfg
    return run_spec(cfg["models"], cfg["experiments"]["lv"], "geps", "mixer3", seed)


def data(shift=0.0):
    x = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2) + shift
    return EnvData.from_arrays(x, np.tile(np.linspace(0, 1, 4), (2, 1)))


def key(run, train=None, val=None):
    return training_key(run.training_hash(), train or data(), val or data(0.5), code="c0de")


def test_key_covers_data_seed_settings_and_code_but_not_adaptation():
    base = key(lv_run())
    cfg = config()
    cfg["models"]["adaptation"]["lr"] *= 10
    cfg["models"]["adaptation"]["steps"] += 1
    assert key(lv_run(cfg)) == base  # adaptation settings: same key, the checkpoint is reused
    cfg = config()
    cfg["models"]["training"]["inner_steps_weights"] += 1
    changed = {
        "train data": key(lv_run(), train=data(1e-3)),
        "val data": key(lv_run(), val=data(1.0)),
        "run seed": key(lv_run(seed=1)),
        "training settings": key(lv_run(cfg)),
        "code": dataclasses.replace(base, code="beef"),
    }
    for what, other in changed.items():
        assert other.digest != base.digest, what
    assert len({k.digest for k in changed.values()}) == len(changed)


def test_data_digest_is_content_order_and_shape_sensitive():
    a, b = data(), data(0.5)
    assert data_digest(a, b) == data_digest(data(), data(0.5))
    assert data_digest(a, b) != data_digest(b, a)
    flat = EnvData.from_arrays(
        np.asarray(a.x).reshape(2, 3, 8, 1), np.tile(np.linspace(0, 1, 8), (2, 1))
    )
    assert data_digest(flat) != data_digest(a)


def test_training_code_is_the_library_training_imports():
    modules = training_modules()
    for name in (
        "mixer.train",
        "mixer.train_step",
        "mixer.layer",
        "mixer.backbones.ncf",
        "mixer.gating.update",
        "mixer.solve",
        "mixer.experiment",
        "mixer.io.checkpoints",
    ):
        assert name in modules, name
    assert not [m for m in modules if m.startswith(("mixer.plotting", "mixer.data"))]
    assert "mixer.tables" not in modules and "mixer.paper_tables" not in modules
    assert all(path.is_file() for path in modules.values())
    assert code_digest() == code_digest()


def test_changed_data_starts_fresh_and_names_the_stale_folder(tmp_path, caplog):
    """A finished run's checkpoint is not resumed after the data (or seed) changed: the new key
    names another, empty folder, and the log names the stale one in one line."""
    root = tmp_path / "checkpoints"
    old = key(lv_run())
    finished = checkpoint_dir(root, old)
    finished.mkdir(parents=True)
    (finished / "checkpoint.eqx").write_bytes(b"finished run")
    for new in (key(lv_run(), train=data(2.0)), key(lv_run(seed=3))):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mixer"):
            path = checkpoint_dir(root, new)
        assert path == root / new.digest and path != finished and not path.exists()
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and str(finished) in lines[0] and "not resumed" in lines[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mixer"):
        assert checkpoint_dir(root, old) == finished  # same key: resumed, nothing stale
    assert caplog.records == []


def test_key_metadata_is_flat_and_names_each_part():
    k = TrainingKey(settings="s", data="d", code="c")
    meta = k.metadata()
    assert meta == {
        "training_key": k.digest,
        "training_settings": "s",
        "training_data": "d",
        "training_code": "c",
    }
    assert len(k.digest) == 12


@pytest.mark.parametrize("field", ["settings", "data", "code"])
def test_every_part_changes_the_digest(field):
    k = TrainingKey(settings="s", data="d", code="c")
    assert dataclasses.replace(k, **{field: "x"}).digest != k.digest
