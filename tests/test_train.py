"""The training loop: configuration, schedules, proximal objective, gate handling, history,
exact resumption from checkpoints and divergence detection."""

from __future__ import annotations

import dataclasses
import logging
import shutil

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from train_toys import FAST_SOLVER, ContextLinear, random_data, toy_mixer

import mixer.train_loss as train_loss_module
import mixer.train_step as train_step_module
from mixer.gating import GateConfig
from mixer.io.checkpoints import load_checkpoint, read_metadata
from mixer.layer import MixER
from mixer.schedules import weights_schedule
from mixer.train import CHECKPOINT_NAME, TrainConfig, TrainingDivergedError, fit
from mixer.train_step import (
    contexts_objective,
    init_train_state,
    joint_objective,
    make_outer_step,
    trainable_filter,
    weights_objective,
)
from mixer.tree_flow import filter_cond

NUM_ENVS, CTX = 8, 2
BASE = TrainConfig(
    outer_steps=4,
    prox_beta=0.1,
    inner_steps_weights=3,
    inner_steps_contexts=3,
    solver=FAST_SOLVER,
    checkpoint_every=1,
    validate_every=2,
    pool_size=2,
    min_window=0.6,
    gate=GateConfig(on_empty="stop"),  # the paper's Alg. 2; some tests switch to "reseed"
)


class Recorder:
    """A tracker that keeps every call; optionally interrupts the run at one step."""

    def __init__(self, stop_at: int | None = None):
        self.rows: list[tuple[int, dict]] = []
        self.stop_at = stop_at

    def log_metrics(self, metrics, step):
        if step == self.stop_at:
            raise KeyboardInterrupt(f"simulated kill at step {step}")
        self.rows.append((step, dict(metrics)))


@pytest.fixture(scope="module")
def data():
    return random_data(NUM_ENVS, 3, 10, seed=0), random_data(NUM_ENVS, 2, 10, seed=1)


def _model(naive=False, num_experts=2):
    return toy_mixer(ContextLinear, num_experts, CTX, naive=naive, key=jax.random.key(0))


def _fit(data, cfg=BASE, **kwargs):
    train, val = kwargs.pop("train", data[0]), data[1]
    return fit(
        _model(),
        jnp.zeros((NUM_ENVS, CTX)),
        train,
        val,
        cfg,
        key=jax.random.key(42),
        tracker=kwargs.pop("tracker", Recorder()),
        **kwargs,
    )


def _leaves_equal(a, b):
    la = jax.tree.leaves(eqx.filter(a, eqx.is_array))
    lb = jax.tree.leaves(eqx.filter(b, eqx.is_array))
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def interrupted(data, tmp_path_factory):
    """A checkpoint directory of a run killed during outer step 2 (checkpoint after step 1)."""
    directory = tmp_path_factory.mktemp("interrupted")
    with pytest.raises(KeyboardInterrupt):
        _fit(data, tracker=Recorder(stop_at=2), checkpoint_dir=directory)
    return directory


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def straight(data):
    """An uninterrupted run; returns the result, the tracker and the logged messages."""
    tracker, handler = Recorder(), _ListHandler()
    logger = logging.getLogger("test_train.fit")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        result = _fit(data, tracker=tracker, logger=logger)
    finally:
        logger.removeHandler(handler)
    return result, tracker, handler.messages


def test_config_validation_and_batch_size():
    with pytest.raises(ValueError, match="order"):
        TrainConfig(outer_steps=1, prox_beta=0.0, order="both")
    with pytest.raises(ValueError, match="min_window"):
        TrainConfig(outer_steps=1, prox_beta=0.0, min_window=0.0)
    with pytest.raises(ValueError, match="outer_steps"):
        TrainConfig(outer_steps=0, prox_beta=0.0)
    with pytest.raises(ValueError, match="prox_beta"):
        TrainConfig(outer_steps=1, prox_beta=-1.0)
    with pytest.raises(ValueError, match="selection_metric"):
        TrainConfig(outer_steps=1, prox_beta=0.0, selection_metric="rmse")
    cfg = TrainConfig(outer_steps=1, prox_beta=0.0)
    assert cfg.resolved_batch_size(8, 2) == 4
    assert cfg.resolved_batch_size(160, 10) == 16
    assert cfg.resolved_batch_size(3, 4) == 1
    assert dataclasses.replace(cfg, batch_size=50).resolved_batch_size(8, 2) == 8
    assert cfg.hash() == TrainConfig(outer_steps=1, prox_beta=0.0).hash()
    assert cfg.hash() != dataclasses.replace(cfg, prox_beta=1.0).hash()


def test_weights_lr_schedule():
    cfg = TrainConfig(outer_steps=3, prox_beta=0.0, inner_steps_weights=12)
    schedule = weights_schedule(cfg)
    expected = {0: 1e-3, 11: 1e-3, 12: 4e-4, 23: 4e-4, 24: 1.6e-4, 35: 1.6e-4}
    for count, lr in expected.items():
        assert float(schedule(count)) == pytest.approx(lr, rel=1e-6)
    custom = dataclasses.replace(cfg, lr_weights=0.1, lr_decay=0.5, lr_boundaries=(0.5,))
    assert [float(weights_schedule(custom)(c)) for c in (17, 18)] == pytest.approx([0.1, 0.05])


def test_proximal_terms(data):
    train = data[0]
    model = _model()
    batch = jnp.array([0, 3, 5, 6])
    key = jax.random.key(1)
    theta, static = eqx.partition(model, trainable_filter(model))
    theta_old = jax.tree.map(lambda p: p + 0.1, theta)
    num_params = sum(p.size for p in jax.tree.leaves(theta))
    cfgs = [dataclasses.replace(BASE, prox_beta=b) for b in (0.0, 3.0)]
    ctx = jnp.ones((NUM_ENVS, CTX))
    ctx_old = ctx - 0.2

    @jax.jit
    def evaluate(th, c):
        out = []
        for cfg in cfgs:
            (v, (loss, _)), g = jax.value_and_grad(weights_objective, has_aux=True)(
                th, static, theta_old, c, train, batch, cfg, key=key
            )
            gc = jax.grad(
                lambda cc, cfg=cfg: contexts_objective(
                    cc, model, ctx_old, train, batch, cfg, key=key
                )[0]
            )(c)
            out.append((v, loss, g, gc))
        return out

    (v0, l0, g0, gc0), (v3, l3, g3, gc3) = evaluate(theta, ctx)
    assert float(l0) == float(l3) == pytest.approx(float(v0))
    assert float(v3 - v0) == pytest.approx(0.5 * 3.0 * 0.01 * num_params, rel=1e-4)
    for a, b in zip(jax.tree.leaves(g0), jax.tree.leaves(g3), strict=True):  # β (Θ − Θ_old) = -0.3
        np.testing.assert_allclose(b - a, -0.3 * np.ones_like(a), atol=1e-5)
    np.testing.assert_allclose(gc3 - gc0, 0.6 * np.ones((NUM_ENVS, CTX)), atol=1e-5)


def test_gate_trainable_only_in_naive_variant():
    for naive in (False, True):
        model = _model(naive=naive)
        spec = trainable_filter(model)
        assert spec.gate is naive and spec.shifts is True
        assert all(jax.tree.leaves(spec.experts))
        theta, _ = eqx.partition(model, spec)
        assert (theta.gate is None) is not naive


def _run_steps(model, cfg, train, steps, contexts=None):
    if contexts is None:
        contexts = jnp.zeros((NUM_ENVS, model.context_size))
    state = init_train_state(model, contexts, cfg, key=jax.random.key(3))
    step = make_outer_step(model, cfg, train)
    infos = []
    for _ in range(steps):
        state, info = step(state)
        infos.append(info)
    return state, infos


def test_naive_gate_learns(data):
    """MixER-M†: W receives a gradient (through the routed probability) and is trained."""
    model = _model(naive=True)
    state, infos = _run_steps(model, BASE, data[0], 2)
    assert float(jnp.max(jnp.abs(state.model.gate - model.gate))) > 1e-5
    assert not any(bool(jnp.any(i.weights.gate_updated)) for i in infos)  # no gate update


def test_mixer_gate_changes_only_by_gate_update(data, monkeypatch):
    traces = []
    real = train_loss_module.batch_loss

    def counting(*args, **kwargs):
        traces.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_loss_module, "batch_loss", counting)
    model = _model()
    cfg = dataclasses.replace(BASE, gate_update_every=0)
    state, infos = _run_steps(model, cfg, data[0], 3)
    # the outer step is traced once and never again: one loss trace per phase (each phase
    # differentiates only its own block)
    assert len(traces) == 2
    np.testing.assert_array_equal(state.model.gate, model.gate)  # no gradient reaches W
    assert float(jnp.max(jnp.abs(state.model.experts.base - model.experts.base))) > 1e-4
    assert float(jnp.max(jnp.abs(state.model.shifts))) > 0
    assert not any(bool(jnp.any(i.weights.gate_updated)) for i in infos)


def test_loss_and_gate_traced_once_for_both_phases(data, monkeypatch):
    """One outer step traces the loss once per phase (phase-specific gradients) and the gate
    update with its loss matrix once for both phases (compile time)."""
    calls = {"loss": 0, "matrix": 0}
    real_loss, real_matrix = train_loss_module.batch_loss, MixER.loss_matrix_and_steps

    def loss(*args, **kwargs):
        calls["loss"] += 1
        return real_loss(*args, **kwargs)

    def matrix(self, *args, **kwargs):
        calls["matrix"] += 1
        return real_matrix(self, *args, **kwargs)

    monkeypatch.setattr(train_loss_module, "batch_loss", loss)
    monkeypatch.setattr(MixER, "loss_matrix_and_steps", matrix)
    state, infos = _run_steps(_model(), BASE, data[0], 2)
    assert calls == {"loss": 2, "matrix": 1}
    assert all(
        bool(jnp.all(i.weights.gate_updated)) and bool(jnp.all(i.contexts.gate_updated))
        for i in infos
    )


def test_joint_gradient_equals_phase_gradients(data):
    """∂J/∂Θ is the weight phase's gradient and ∂J/∂Ξ the context phase's."""
    train = data[0]
    model = _model()
    batch, key = jnp.array([0, 2, 5, 7]), jax.random.key(4)
    theta, static = eqx.partition(model, trainable_filter(model))
    theta_old = jax.tree.map(lambda p: p + 0.05, theta)
    ctx = 0.3 * jax.random.normal(jax.random.key(5), (NUM_ENVS, CTX))
    ctx_old = ctx + 0.1
    cfg = dataclasses.replace(BASE, prox_beta=2.0)
    g_theta, g_xi = jax.grad(
        lambda th, c: joint_objective(
            th, c, static, theta_old, ctx_old, train, batch, cfg, key=key
        )[0],
        argnums=(0, 1),
    )(theta, ctx)
    w = jax.grad(
        lambda th: weights_objective(th, static, theta_old, ctx, train, batch, cfg, key=key)[0]
    )(theta)
    c = jax.grad(lambda cc: contexts_objective(cc, model, ctx_old, train, batch, cfg, key=key)[0])(
        ctx
    )
    for a, b in zip(jax.tree.leaves(g_theta), jax.tree.leaves(w), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_xi, c, rtol=1e-5, atol=1e-7)


def test_history_tracker_logging_and_selection(data, straight):
    result, tracker, messages = straight
    assert [m.split()[2] for m in messages] == ["1/4", "2/4", "3/4", "4/4"]
    assert all("loss=" in m and "eta=" in m for m in messages)
    assert "rel_mse=" in messages[1] and "rel_mse=" not in messages[0]
    h = result.history
    np.testing.assert_array_equal(h.step, np.arange(4))
    assert [s for s, _ in tracker.rows] == [0, 1, 2, 3]
    assert all("train/loss" in m for _, m in tracker.rows)
    assert [("val/rel_mse" in m) for _, m in tracker.rows] == [False, True, False, True]
    assert np.isnan(h.val_rel_mse[[0, 2]]).all() and np.isfinite(h.val_rel_mse[[1, 3]]).all()
    # weights rate: 12 weight steps in all, x0.4 at step 4 and step 8
    np.testing.assert_allclose(h.lr_weights, [1e-3, 1e-3, 4e-4, 1.6e-4], rtol=1e-6)
    assert h.gate_probs.shape == (4, NUM_ENVS, 2) and h.routed.shape == (4, NUM_ENVS)
    np.testing.assert_allclose(h.gate_probs.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(h.routed, h.gate_probs.argmax(-1))
    assert np.all(np.isfinite(h.train_loss))
    assert np.all(np.diff(h.wall_seconds) > 0) and h.wall_seconds[0] > 0
    # the MixER gate was set by gate updates: not zero any more
    assert float(jnp.max(jnp.abs(result.final_model.gate))) > 0
    best = int(np.nanargmin(h.val_rel_mse))
    assert result.best_step == best
    assert result.best_val_rel_mse == h.val_rel_mse[best]
    from mixer.train_validation import validation_score

    score = validation_score(result.model, result.contexts, data[1], BASE)
    assert score == result.best_val_rel_mse


def test_gate_recorded_every_history_every_steps(data, straight):
    result = _fit(data, history_every=3)
    np.testing.assert_array_equal(result.history.gate_step, [0, 3])  # and always the last
    np.testing.assert_array_equal(result.history.routed, straight[0].history.routed[[0, 3]])


def test_resume_matches_uninterrupted_run_bit_for_bit(data, straight, interrupted, tmp_path):
    reference = straight[0]
    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    assert read_metadata(tmp_path / CHECKPOINT_NAME)["step"] == 2
    tracker = Recorder()
    resumed = _fit(data, tracker=tracker, checkpoint_dir=tmp_path)  # a fresh fit call
    assert [s for s, _ in tracker.rows] == [2, 3]
    _leaves_equal(resumed.final_model, reference.final_model)
    _leaves_equal(resumed.model, reference.model)
    np.testing.assert_array_equal(resumed.final_contexts, reference.final_contexts)
    np.testing.assert_array_equal(resumed.contexts, reference.contexts)
    assert resumed.best_step == reference.best_step
    assert resumed.best_val_rel_mse == reference.best_val_rel_mse
    for name, value in reference.history.to_arrays().items():
        if name != "wall_seconds":  # the clock is the one thing a rerun does not repeat
            np.testing.assert_array_equal(getattr(resumed.history, name), value, err_msg=name)
    assert read_metadata(tmp_path / CHECKPOINT_NAME)["step"] == 4
    # the interrupted attempt's wall times are kept and the resumed steps continue from them
    assert np.all(np.isfinite(resumed.history.wall_seconds))
    assert np.all(np.diff(resumed.history.wall_seconds) > 0)


def test_resume_refuses_other_config(data, interrupted, tmp_path):
    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    with pytest.raises(ValueError, match="another training configuration"):
        _fit(data, cfg=dataclasses.replace(BASE, prox_beta=0.2), checkpoint_dir=tmp_path)


def test_divergence_names_step_phase_envs_and_keeps_checkpoint(data, interrupted, tmp_path):
    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    path = tmp_path / CHECKPOINT_NAME
    before = path.read_bytes()
    bad = dataclasses.replace(data[0], x=data[0].x.at[3, 0, 5].set(jnp.inf))
    with pytest.raises(TrainingDivergedError) as info:
        _fit(data, train=bad, checkpoint_dir=tmp_path)
    error = info.value
    assert error.envs == [3]
    assert error.outer_step >= 2 and error.phase in ("weights", "contexts")
    assert f"outer step {error.outer_step}" in str(error) and "[3]" in str(error)
    assert error.checkpoint == str(path)
    assert path.read_bytes() == before  # the last good checkpoint is untouched
    template = {
        "state": init_train_state(
            _model(), jnp.zeros((NUM_ENVS, CTX)), BASE, key=jax.random.key(0)
        ),
        "best": (_model(), jnp.zeros((NUM_ENVS, CTX))),
    }
    state = load_checkpoint(path, template).tree["state"]
    assert int(state.step) == 2
    assert all(
        bool(jnp.all(jnp.isfinite(x)))
        for x in jax.tree.leaves(eqx.filter(state.model, eqx.is_inexact_array))
    )


def test_input_validation(data):
    with pytest.raises(ValueError, match="contexts"):
        fit(
            _model(),
            jnp.zeros((NUM_ENVS, 3)),
            data[0],
            data[1],
            BASE,
            key=jax.random.key(0),
            tracker=Recorder(),
        )
    with pytest.raises(ValueError, match="validation"):
        fit(
            _model(),
            jnp.zeros((NUM_ENVS, CTX)),
            data[0],
            data[1].subset([0, 1]),
            BASE,
            key=jax.random.key(0),
            tracker=Recorder(),
        )


def test_cavia_skips_the_context_phase(data):
    """CAVIA ignores stored contexts, so its outer step runs only the weights phase (the
    context phase would cost a full second-order pass for a zero gradient); a backbone that
    uses its contexts keeps both phases."""
    from mixer.layer import make_mixer

    state_size = data[0].x.shape[-1]
    cavia = make_mixer(
        "cavia",
        state_size,
        CTX,
        1,
        split_contexts=False,
        naive=False,
        options={"width": 4, "depth": 1, "inner_steps": 1},
        key=jax.random.key(0),
    )
    state, (info,) = _run_steps(cavia, BASE, data[0], 1)
    assert info.contexts.loss.shape == (0,)
    assert info.weights.loss.shape == (BASE.inner_steps_weights,)
    moved = jax.tree.map(
        lambda a, b: float(jnp.max(jnp.abs(a - b))),
        eqx.filter(state.model.experts, eqx.is_array),
        eqx.filter(cavia.experts, eqx.is_array),
    )
    assert max(jax.tree.leaves(moved)) > 0
    _, (info,) = _run_steps(_model(num_experts=1), BASE, data[0], 1)
    assert info.contexts.loss.shape == (BASE.inner_steps_contexts,)
    # The tracked metrics of a CAVIA run carry no (NaN) context-phase loss.
    tracker = Recorder()
    fit(
        cavia,
        jnp.zeros((NUM_ENVS, CTX)),
        data[0],
        data[1],
        dataclasses.replace(BASE, outer_steps=1),
        key=jax.random.key(0),
        tracker=tracker,
    )
    ((_, metrics),) = [r for r in tracker.rows if "train/loss" in r[1]]
    assert "train/loss_contexts" not in metrics and np.isfinite(metrics["train/loss"])


def test_gate_warmup_delays_the_first_update(data):
    """With ``gate_warmup=2`` the first two outer steps keep the initial (zero) gate, so every
    environment stays on expert 0; every inner step after them updates the gate."""
    cfg = dataclasses.replace(BASE, gate_warmup=2)
    state, infos = _run_steps(_model(), cfg, data[0], 3)
    for info in infos[:2]:
        assert not bool(jnp.any(info.weights.gate_updated))
        assert not bool(jnp.any(info.contexts.gate_updated))
        assert np.all(np.asarray(info.routed) == 0)
    assert bool(jnp.all(infos[2].weights.gate_updated))
    assert bool(jnp.all(infos[2].contexts.gate_updated))
    with pytest.raises(ValueError, match="gate_warmup"):
        dataclasses.replace(BASE, gate_warmup=-1)


def test_gate_freeze_after_stops_gate_updates(data):
    """With ``gate_freeze_after=0.5`` of 4 outer steps the gate updates in outer steps 1-2
    only; afterwards its parameters stay what the last update made them."""
    cfg = dataclasses.replace(BASE, outer_steps=4, gate_freeze_after=0.5)
    assert cfg.gate_update_steps() == (0, 2 * (cfg.inner_steps_weights + cfg.inner_steps_contexts))
    half, _ = _run_steps(_model(), cfg, data[0], 2)
    final, infos = _run_steps(_model(), cfg, data[0], 4)
    for info in infos[:2]:
        assert bool(jnp.all(info.weights.gate_updated))
        assert bool(jnp.all(info.contexts.gate_updated))
    for info in infos[2:]:
        assert not bool(jnp.any(info.weights.gate_updated))
        assert not bool(jnp.any(info.contexts.gate_updated))
    assert eqx.tree_equal(half.model.gate, final.model.gate)
    assert not eqx.tree_equal(half.contexts, final.contexts)  # training went on
    # 2/3 of 300 steps: the last update is in outer step 200, not 201 (float rounding)
    late = dataclasses.replace(BASE, outer_steps=300, gate_freeze_after=0.6666666667)
    per_outer = late.inner_steps_weights + late.inner_steps_contexts
    assert late.gate_update_steps()[1] == 200 * per_outer
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="gate_freeze_after"):
            dataclasses.replace(BASE, gate_freeze_after=bad)


def _cavia_model(state_size):
    from mixer.layer import make_mixer

    return make_mixer(
        "cavia",
        state_size,
        CTX,
        1,
        split_contexts=False,
        naive=False,
        options={"width": 8, "depth": 1, "inner_steps": 2, "inner_lr": 0.5},
        key=jax.random.key(0),
    )


def test_cavia_is_scored_with_its_inner_loop_contexts(data):
    """CAVIA stores no context: its result carries the contexts of its inner loop on each
    environment's training trajectories (non-zero, and they change the prediction); its
    adaptation runs the inner loop on the adaptation data and lowers the loss."""
    from mixer.adapt import AdaptConfig, adapt
    from mixer.evaluate import evaluate

    train, val = data
    cavia = _cavia_model(train.x.shape[-1])
    result = fit(
        cavia,
        jnp.zeros((NUM_ENVS, CTX)),
        train,
        val,
        dataclasses.replace(BASE, outer_steps=2, validate_every=1),
        key=jax.random.key(0),
        tracker=Recorder(),
    )
    ctxs = np.asarray(result.contexts)
    assert np.all(np.abs(ctxs).max(axis=1) > 0)
    with_ctx = np.asarray(evaluate(result.model, result.contexts, val, FAST_SOLVER))
    with_zero = np.asarray(
        evaluate(result.model, jnp.zeros_like(result.contexts), val, FAST_SOLVER)
    )
    assert np.abs(with_ctx - with_zero).max() > 1e-5
    from mixer.metrics import relative_mse

    assert result.best_val_rel_mse == pytest.approx(
        relative_mse(with_ctx, np.asarray(val.x)), rel=1e-5
    )
    adapted, losses = adapt(
        result.model, val, AdaptConfig(steps=6, solver=FAST_SOLVER), key=jax.random.key(1)
    )
    assert np.all(np.abs(np.asarray(adapted)).max(axis=1) > 0)
    losses = np.asarray(losses)
    assert losses.shape == (6, NUM_ENVS)
    assert np.all(losses[-1] < losses[0])


def _ar_series(num_envs, num_times, seed):
    """Noisy AR(1) series (one trajectory each): only one-step prediction is learnable."""
    from mixer.envdata import EnvData

    rng = np.random.default_rng(seed)
    x = np.zeros((num_envs, 1, num_times, 1), np.float32)
    x[:, :, 0] = rng.normal(size=(num_envs, 1, 1))
    for i in range(1, num_times):
        x[:, :, i] = 0.9 * x[:, :, i - 1] + 0.4 * rng.normal(size=(num_envs, 1, 1))
    t = np.broadcast_to(np.arange(num_times, dtype=np.float32), (num_envs, num_times))
    return EnvData.from_arrays(x, t)


def test_teacher_forced_models_are_selected_on_the_teacher_forced_loss():
    """For a teacher-forced backbone, validation scores the training loss of the teacher-forced
    prediction (what training fits), not the free run; on a planted problem where that keeps
    improving, the selected state is not the first validated one."""
    from mixer.evaluate import evaluate
    from mixer.layer import make_mixer
    from mixer.train import validation_metric

    series = _ar_series(6, 24, seed=3)
    model = make_mixer(
        "plrnn",
        1,
        2,
        1,
        split_contexts=False,
        naive=False,
        options={"hidden": 4},
        key=jax.random.key(0),
    )
    cfg = dataclasses.replace(
        BASE,
        outer_steps=6,
        validate_every=1,
        min_window=1.0,
        pool_size=1,
        lr_weights=2e-2,
        lr_contexts=2e-2,
    )
    result = fit(
        model, jnp.zeros((6, 2)), series, series, cfg, key=jax.random.key(0), tracker=Recorder()
    )
    vals = np.asarray(result.history.val_rel_mse)
    assert result.best_step > 0, vals
    teacher = np.asarray(
        evaluate(result.model, result.contexts, series, FAST_SOLVER, loss_predict=True)
    )
    free = np.asarray(evaluate(result.model, result.contexts, series, FAST_SOLVER))
    x = np.asarray(series.x)

    def loss(pred):  # Eq. 7: the training loss
        return float(np.mean(np.sum((pred - x) ** 2, axis=-1)))

    assert result.best_val_rel_mse == pytest.approx(loss(teacher), rel=1e-5)
    assert abs(loss(free) - loss(teacher)) > 0.05 * loss(teacher)
    assert validation_metric(result.model) == "teacher_forced_mse"
    assert validation_metric(_model()) == "rel_mse"


def test_selection_on_mse_scores_and_keeps_the_lowest_mse_state(data):
    """``selection_metric="mse"`` scores every validated state by the MSE of its free rollout
    (Table 4's convention, not the relative MSE) and keeps the state with the lowest one."""
    from mixer.evaluate import evaluate
    from mixer.metrics import mse, relative_mse
    from mixer.train import validation_metric

    cfg = dataclasses.replace(BASE, outer_steps=6, validate_every=1, selection_metric="mse")
    tracker = Recorder()
    result = _fit(data, cfg, tracker=tracker)
    assert all("val/mse" in m and "val/rel_mse" not in m for _, m in tracker.rows)
    val = data[1]
    rollout = np.asarray(evaluate(result.model, result.contexts, val, FAST_SOLVER))
    x = np.asarray(val.x)
    assert result.best_val_rel_mse == pytest.approx(mse(rollout, x), rel=1e-6)
    assert abs(relative_mse(rollout, x) - mse(rollout, x)) > 1e-3 * mse(rollout, x)
    scores = np.asarray(result.history.val_rel_mse)
    assert result.best_step == int(np.nanargmin(scores)) and np.isfinite(scores).all()
    assert validation_metric(result.model, cfg) == "mse"
    assert validation_metric(result.model, BASE) == "rel_mse"


def test_train_seconds_count_every_attempt(data, interrupted, tmp_path):
    """Issue 15, item 1: the checkpoint keeps the training seconds so far; a resumed fit adds
    its own, so ``train_seconds`` covers every attempt."""
    import time

    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    before = read_metadata(tmp_path / CHECKPOINT_NAME)["train_seconds"]
    assert before > 0
    start = time.perf_counter()
    resumed = _fit(data, checkpoint_dir=tmp_path)
    this_attempt = time.perf_counter() - start
    assert before < resumed.train_seconds <= before + this_attempt
    final = read_metadata(tmp_path / CHECKPOINT_NAME)["train_seconds"]
    assert before < final <= resumed.train_seconds


# ------------------------------------------------------------------ the gate update's cost
def _random_contexts(context_size=CTX, seed=11):
    return 0.5 * jax.random.normal(jax.random.key(seed), (NUM_ENVS, context_size))


def test_abandoned_gate_update_computes_no_loss_matrix(data):
    """K-means runs first: when it abandons the update (equal contexts leave clusters empty)
    no loss matrix is computed; when it keeps every cluster, one is."""
    _, (info,) = _run_steps(_model(), BASE, data[0], 1)  # contexts all 0 during the weights
    w = info.weights
    assert np.all(w.gate_updated) and np.all(w.gate_empty)
    assert not np.any(w.gate_matrix) and np.all(w.gate_steps_max == 0)
    cfg = dataclasses.replace(BASE, gate=GateConfig(on_empty="reseed"))
    _, (info,) = _run_steps(_model(), cfg, data[0], 1, contexts=_random_contexts())
    for phase in (info.weights, info.contexts):
        assert np.all(phase.gate_matrix) and not np.any(phase.gate_empty)


def _reference_gate(self, state, data, index, key):
    """The gate update as it was specified first: the full loss matrix (``gate_update`` on
    ``reference_loss_matrix``) at every due step, whatever K-means then does."""
    from mixer.gating import gate_update

    if not self.gate_on:
        return state, train_step_module._GateOut.without_matrix(False, False)
    cfg = self.cfg

    def update(s):
        lm = s.model.reference_loss_matrix(s.contexts, data.x, data.t, cfg.solver)
        res = gate_update(
            s.contexts, lm, s.model.gate, s.centroids, s.has_centroids, key=key, cfg=cfg.gate
        )
        out = train_step_module._GateOut.without_matrix(True, False)._replace(
            empty=res.empty_cluster, loss_finite=jnp.all(jnp.isfinite(lm))
        )
        return train_step_module._with_gate(s, res), out

    first, stop = cfg.gate_update_steps()
    due = ((index + 1) % cfg.gate_update_every == 0) & (index >= first) & (index < stop)
    return filter_cond(
        due, update, lambda s: (s, train_step_module._GateOut.without_matrix(False, False)), state
    )


def _geps_model():
    from mixer.layer import make_mixer

    return make_mixer(
        "geps",
        2,
        4,
        2,
        split_contexts=True,
        naive=False,
        options={"width": 8, "depth": 2},
        key=jax.random.key(0),
    )


@pytest.mark.parametrize("backbone", ["toy", pytest.param("geps", marks=pytest.mark.slow)])
@pytest.mark.parametrize("on_empty", ["stop", "reseed"])
def test_gate_updates_equal_the_reference_update(data, monkeypatch, backbone, on_empty):
    """K-means first, no matrix for an abandoned update, the expert-shared forward-only loss
    solve (GEPS): the training run is the one the plain update (full loss matrix every time,
    then ``gate_update``) gives."""
    model = _model() if backbone == "toy" else _geps_model()
    cfg = dataclasses.replace(BASE, gate=GateConfig(on_empty=on_empty), min_window=1.0)
    contexts = _random_contexts(model.context_size)
    state, infos = _run_steps(model, cfg, data[0], 2, contexts=contexts)
    monkeypatch.setattr(train_step_module._Step, "gate", _reference_gate)
    # another (unused) setting, so that the compiled step of the first run is not reused
    other = dataclasses.replace(cfg, checkpoint_every=cfg.checkpoint_every + 1)
    ref_state, ref_infos = _run_steps(model, other, data[0], 2, contexts=contexts)
    for info, ref in zip(infos, ref_infos, strict=True):
        for a, b in ((info.weights, ref.weights), (info.contexts, ref.contexts)):
            np.testing.assert_array_equal(a.gate_empty, b.gate_empty)
            np.testing.assert_array_equal(a.gate_matrix, ~b.gate_empty)
        np.testing.assert_array_equal(info.routed, ref.routed)
    np.testing.assert_allclose(state.model.gate, ref_state.model.gate, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state.contexts, ref_state.contexts, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(state.has_centroids, ref_state.has_centroids)
    for a, b in zip(
        jax.tree.leaves(eqx.filter(state.model.experts, eqx.is_array)),
        jax.tree.leaves(eqx.filter(ref_state.model.experts, eqx.is_array)),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
