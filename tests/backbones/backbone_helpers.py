"""Constants and the tiny dataset shared by the backbone tests."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mixer.solve import SolverConfig, solve_many

STATE, CONTEXT, TRAJ, TIME = 2, 2, 3, 8
SOLVER = SolverConfig(rtol=1e-4, atol=1e-6, max_steps=64)
# A fixed-step solver for tests that need a smooth loss (finite differences) or a cheap
# second-order compile. Not max_steps=16: with diffrax 0.7.2, a constant step size, 7 steps,
# max_steps=16 and a time grid closed over by jax.jit, reverse-mode gradients come out wrong
# (about 0.8x the finite difference); max_steps=64 is exact.
HEUN = SolverConfig(solver="heun", max_steps=64)


def make_toy_data() -> tuple[jax.Array, jax.Array]:
    """``x`` (traj, time, state) from a damped rotation ``dx/dt = M x`` and its grid ``t``."""
    t = jnp.linspace(0.0, 1.5, TIME)
    x0 = jax.random.normal(jax.random.key(42), (TRAJ, STATE))
    matrix = jnp.array([[-0.1, 1.0], [-1.0, -0.1]])
    x = solve_many(lambda _, y: matrix @ y, x0, t, SolverConfig(rtol=1e-6, atol=1e-8))
    return x, t
