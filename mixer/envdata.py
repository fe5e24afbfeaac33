"""The in-memory training container: trajectories of several environments as JAX arrays."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jaxtyping import Array, Float

__all__ = ["EnvData"]


class EnvData(eqx.Module):
    """Trajectories of ``E`` environments (the canonical layout of DATASETS.md, in float32).

    Attributes:
        x: ``(env, traj, time, state)`` states; the initial conditions are ``x[:, :, 0]``.
        t: ``(env, time)`` time grid of each environment.
    """

    x: Float[Array, "env traj time state"]
    t: Float[Array, "env time"]

    def __check_init__(self):
        if self.x.ndim != 4 or self.t.ndim != 2:
            raise ValueError(
                f"EnvData needs x with 4 dims and t with 2 dims, got {self.x.shape}, {self.t.shape}"
            )
        if self.t.shape != (self.x.shape[0], self.x.shape[2]):
            raise ValueError(
                f"t has shape {self.t.shape}, expected (env, time) = "
                f"{(self.x.shape[0], self.x.shape[2])}"
            )

    @classmethod
    def from_arrays(cls, x, t) -> EnvData:
        """Build from array-likes, casting to float32 (the library's working precision)."""
        return cls(
            x=jnp.asarray(np.asarray(x), jnp.float32), t=jnp.asarray(np.asarray(t), jnp.float32)
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> EnvData:
        """Build from an xarray Dataset with ``x`` (env, traj, time, state), ``t`` (env, time)."""
        missing = [name for name in ("x", "t") if name not in ds]
        if missing:
            raise ValueError(f"dataset lacks the variable(s) {missing}")
        x = ds["x"].transpose("env", "traj", "time", "state").values
        t = ds["t"].transpose("env", "time").values
        return cls.from_arrays(x, t)

    @property
    def num_envs(self) -> int:
        """Number of environments ``E``."""
        return self.x.shape[0]

    def strided(self, stride: int) -> EnvData:
        """Keep every ``stride``-th saved time point (the first one always kept)."""
        if stride < 1:
            raise ValueError(f"time stride must be >= 1, got {stride}")
        if stride == 1:
            return self
        return EnvData(x=self.x[:, :, ::stride], t=self.t[:, ::stride])

    def subset(self, envs) -> EnvData:
        """The environments with the given indices, in that order."""
        idx = jnp.asarray(envs)
        return EnvData(x=self.x[idx], t=self.t[idx])
