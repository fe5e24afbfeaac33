"""Small experts and simulated data shared by the training, adaptation and learning tests.

The experts implement ``AbstractBackbone`` and are stacked into a real ``mixer.layer.MixER``
with ``stack_experts``, so the tests do not depend on the backbone registry.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mixer.backbones.base import AbstractBackbone
from mixer.envdata import EnvData
from mixer.layer import MixER, stack_experts
from mixer.solve import SolverConfig

# The toy experts integrate with their own fixed-step scan (cheap to compile); the solver
# settings are passed through the training code untouched.
FAST_SOLVER = SolverConfig(solver="heun", max_steps=64)


def rk_rollout(field, x0s: Float[Array, "traj D"], t: Float[Array, " time"]):
    """One classical RK4 step per saved interval (a repeated time point is a zero step)."""

    def step(x, dt):
        k1 = field(x)
        k2 = field(x + dt / 2 * k1)
        k3 = field(x + dt / 2 * k2)
        k4 = field(x + dt * k3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return x, x

    _, xs = jax.lax.scan(step, x0s, jnp.diff(t))
    return jnp.concatenate([x0s[None], xs], axis=0).transpose(1, 0, 2)


class ContextLinear(AbstractBackbone):
    """dx/dt = (A + sum_k ctx_k B_k) x: a linear field modulated by the context."""

    base: Float[Array, "D D"]
    modulation: Float[Array, "d D D"]
    context_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)

    def __init__(self, state_size: int, context_size: int, *, key: jax.Array):
        k_a, k_b = jax.random.split(key)
        self.base = -0.3 * jnp.eye(state_size) + 0.2 * jax.random.normal(k_a, (state_size,) * 2)
        self.modulation = 0.3 * jax.random.normal(k_b, (context_size, state_size, state_size))
        self.context_size = context_size
        self.state_size = state_size

    def predict(self, ctx, x, t, solver, scale=None):
        matrix = self.base + jnp.tensordot(ctx, self.modulation, axes=1)
        if scale is not None:
            matrix = scale * matrix
        del solver
        return rk_rollout(lambda y: y @ matrix.T, x[:, 0], t)


class ContextMLP(AbstractBackbone):
    """dx/dt = MLP([x, ctx]) (concatenation conditioning, tanh, one hidden layer)."""

    w_in: Float[Array, "H D_plus_d"]
    b_in: Float[Array, " H"]
    w_out: Float[Array, "D H"]
    context_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)

    def __init__(self, state_size: int, context_size: int, *, key: jax.Array, width: int = 8):
        k_in, k_out = jax.random.split(key)
        fan_in = state_size + context_size
        self.w_in = jax.random.normal(k_in, (width, fan_in)) / jnp.sqrt(fan_in)
        self.b_in = jnp.zeros(width)
        self.w_out = 0.1 * jax.random.normal(k_out, (state_size, width)) / jnp.sqrt(width)
        self.context_size = context_size
        self.state_size = state_size

    def predict(self, ctx, x, t, solver, scale=None):
        del solver
        w_x, w_c = self.w_in[:, : self.state_size], self.w_in[:, self.state_size :]
        bias = w_c @ ctx + self.b_in
        w_out = self.w_out if scale is None else scale * self.w_out

        def field(y):  # y: (traj, D)
            return jnp.tanh(y @ w_x.T + bias) @ w_out.T

        return rk_rollout(field, x[:, 0], t)


def toy_mixer(
    expert_cls, num_experts: int, context_size: int, *, naive: bool, key, state_size: int = 2
) -> MixER:
    """A MixER layer of identical ``expert_cls`` experts (zero gate unless naive)."""
    k_expert, k_gate = jax.random.split(key)
    expert = expert_cls(state_size, context_size, key=k_expert)
    gate = (
        0.01 * jax.random.normal(k_gate, (context_size + 1, num_experts))
        if naive
        else jnp.zeros((context_size + 1, num_experts))
    )
    return MixER(
        experts=stack_experts(expert, num_experts),
        shifts=jnp.zeros(num_experts),
        gate=gate,
        num_experts=num_experts,
        context_size=context_size,
        split_contexts=False,
        naive=naive,
    )


def _simulate(field, params, x0s, t):
    """RK4 with 8 substeps per saved interval, in float64 (a test-local reference solver)."""
    dt = (t[1] - t[0]) / 8
    out = [x0s]
    x = x0s.copy()
    for _ in range(len(t) - 1):
        for _ in range(8):
            k1 = field(x, params)
            k2 = field(x + dt / 2 * k1, params)
            k3 = field(x + dt / 2 * k2, params)
            k4 = field(x + dt * k3, params)
            x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(x.copy())
    return np.stack(out, axis=1)  # (traj, time, state)


def _oscillator(x, p):  # damped harmonic oscillator, p = (stiffness, damping)
    return np.stack([x[:, 1], -p[0] * x[:, 0] - p[1] * x[:, 1]], axis=-1)


def _decay(x, p):  # decaying rotation, p = (rate, angular speed)
    return np.stack([-p[0] * x[:, 0] + p[1] * x[:, 1], -p[1] * x[:, 0] - p[0] * x[:, 1]], axis=-1)


# Each family varies along two parameters, in different directions of the space of linear
# fields: the union of the two families is not an affine plane, each family alone is.
FAMILIES = {
    "oscillator": (_oscillator, ((3.0, 0.1), (4.0, 0.1), (3.0, 0.4), (4.0, 0.4))),
    "decay": (_decay, ((0.3, 0.2), (0.7, 0.2), (0.3, 0.6), (0.7, 0.6))),
}


def two_family_data(num_traj: int, num_times: int, horizon: float, *, seed: int):
    """Trajectories of 2 families x 4 environments; returns (EnvData, family label per env).

    Environments are interleaved (o, d, o, d, ...) so that index order does not reveal the
    families.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, horizon, num_times)
    xs, labels = [], []
    for i in range(4):
        for label, (field, params) in enumerate(FAMILIES.values()):
            x0 = rng.uniform(-1.0, 1.0, size=(num_traj, 2))
            xs.append(_simulate(field, params[i], x0, t))
            labels.append(label)
    x = np.stack(xs)
    return EnvData.from_arrays(x, np.broadcast_to(t, (x.shape[0], num_times))), np.array(labels)


def random_data(num_envs: int, num_traj: int, num_times: int, *, seed: int) -> EnvData:
    """Smooth decaying random trajectories (for mechanics tests, not for learning)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, num_times)
    rates = rng.uniform(0.2, 1.5, size=(num_envs, 1, 1, 1))
    x0 = rng.normal(size=(num_envs, num_traj, 1, 2))
    x = x0 * np.exp(-rates * t[None, None, :, None])
    return EnvData.from_arrays(x, np.broadcast_to(t, (num_envs, num_times)))
