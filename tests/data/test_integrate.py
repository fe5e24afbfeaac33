"""The float64 batch integrator: accuracy, dtype, loud failures."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mixer.data.integrate import IntegrationError, IntegratorConfig, integrate
from mixer.solve.registry import SIMULATION_SOLVERS, SOLVERS


def decay_or_blowup(t, x, p):
    # p[0] = +1: x' = x^2 (blows up at t = 1/x0); p[0] = -1: x' = -x (exponential decay).
    return jnp.where(p[0] > 0, x**2, -x)


def test_accuracy_dtype_and_loud_failure():
    cfg = IntegratorConfig(chunk_size=4)
    t = np.broadcast_to(np.linspace(0.0, 2.0, 21), (3, 21))
    ys = integrate(decay_or_blowup, np.ones((3, 1)), -np.ones((3, 1)), t, cfg)
    assert ys.dtype == np.float64 and ys.shape == (3, 21, 1)
    np.testing.assert_allclose(ys[..., 0], np.exp(-t), rtol=1e-7)
    assert not jax.config.jax_enable_x64  # the global flag is untouched
    with pytest.raises(IntegrationError, match="1 of 3"):
        integrate(decay_or_blowup, np.ones((3, 1)), np.array([[-1.0], [1.0], [-1.0]]), t, cfg)


def test_too_few_steps_is_an_error():
    cfg = IntegratorConfig(chunk_size=4, max_steps=3)
    t = np.broadcast_to(np.linspace(0.0, 2.0, 21), (2, 21))
    with pytest.raises(IntegrationError):
        integrate(decay_or_blowup, np.ones((2, 1)), -np.ones((2, 1)), t, cfg)


@pytest.mark.parametrize("kw", [{"rtol": 1e-6}, {"solver": "euler"}, {"chunk_size": 0}])
def test_config_validation(kw):
    with pytest.raises(ValueError):
        IntegratorConfig(**kw)


def test_simulation_solvers_come_from_the_one_solver_table():
    """The simulators accept the adaptive solvers of order >= 5 of the shared table (the
    models' table): the low-order and fixed-step ones are refused."""
    assert set(SIMULATION_SOLVERS) == {"dopri8", "dopri5", "tsit5", "kvaerno5"}
    assert set(SIMULATION_SOLVERS) <= set(SOLVERS)
    for name in SOLVERS:
        if name in SIMULATION_SOLVERS:
            described = IntegratorConfig(solver=name).describe()
            assert described.startswith(f"diffrax.{SOLVERS[name].__name__} ")
        else:
            with pytest.raises(ValueError, match="solver must be one of"):
                IntegratorConfig(solver=name)
