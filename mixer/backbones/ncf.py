"""Neural Context Flow (Nzoyem et al., 2025): concatenation conditioning with contextual
self-modulation (SPEC §2.2).

Vector field ``f(x, ξ) = g(x, h(ξ))`` with ``h`` the context sub-network (d -> 32), and
``g(x, c) = main([s(x); c])`` with ``s`` the state sub-network (D -> 32) and ``main`` the root
MLP (64 -> D). Sub-network outputs enter the concatenation without an activation (the main
MLP's first layer is linear), as with ``equinox.nn.MLP`` sub-networks.

Contextual self-modulation (``train_predict``): for each pool row ξ̃ the field is replaced by its
Taylor expansion in the context around ξ̃, evaluated at ξ = ctx, with v = ctx − ξ̃:

* order 0: ``f(x, ξ̃)``;  order 1: ``+ J_ξ f(x, ξ̃) v``;  order 2: ``+ ½ H_ξ f(x, ξ̃)[v, v]``.

The directional derivatives are nested forward-mode JVPs (never a dense Jacobian or Hessian).
Since ``h`` does not depend on ``x``, its second-order jet along v (``h0 = h(ξ̃)``,
``h1 = J_h v``, ``h2 = H_h[v, v]``) is computed once per rollout; inside the vector field only
``s ↦ g(x, h0 + s h1 + s²/2 h2)`` is differentiated twice at ``s = 0``, which has the same first
and second derivatives as ``s ↦ f(x, ξ̃ + s v)`` (chain rule), so the result is exactly the
expansion above. The pool is used as given: whether neighbour contexts receive gradients is
the caller's choice (``jax.lax.stop_gradient`` on the pool).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.backbones.base import AbstractBackbone
from mixer.backbones.mlp import SwishMLP
from mixer.solve import SolverConfig, solve_many

__all__ = ["NCF"]

Jet = tuple[Float[Array, " c"], ...]


def _second_order_jet(fn, point: Array, direction: Array) -> tuple[Array, Array, Array]:
    """``(fn(p), d/ds fn(p + s v), d²/ds² fn(p + s v))`` at ``s = 0`` by nested JVPs."""
    zero = jnp.zeros((), point.dtype)
    one = jnp.ones((), point.dtype)

    def along(s):
        return fn(point + s * direction)

    def first(s):
        return jax.jvp(along, (s,), (one,))

    (value, d1), (_, d2) = jax.jvp(first, (zero,), (one,))
    return value, d1, d2


class NCF(AbstractBackbone):
    """Neural Context Flow expert with Taylor-expanded contextual self-modulation.

    Options: ``width`` (64) and ``depth`` (2 hidden layers: three linear layers) of the main MLP;
    ``ctx_features`` (32) / ``ctx_depth`` (1) and ``state_features`` (32) / ``state_depth`` (1)
    of the sub-networks (their hidden width equals their output size); ``taylor_order``
    (0, 1 or 2; default 2).
    """

    ctx_net: SwishMLP
    state_net: SwishMLP
    main: SwishMLP
    state_size: int = eqx.field(static=True)
    context_size: int = eqx.field(static=True)
    taylor_order: int = eqx.field(static=True)

    def __init__(
        self,
        state_size: int,
        context_size: int,
        *,
        key: PRNGKeyArray,
        width: int = 64,
        depth: int = 2,
        ctx_features: int = 32,
        ctx_depth: int = 1,
        state_features: int = 32,
        state_depth: int = 1,
        taylor_order: int = 2,
    ):
        if taylor_order not in (0, 1, 2):
            raise ValueError(f"taylor_order must be 0, 1 or 2, got {taylor_order!r}")
        k_ctx, k_state, k_main = jax.random.split(key, 3)
        self.ctx_net = SwishMLP(context_size, ctx_features, ctx_features, ctx_depth, key=k_ctx)
        self.state_net = SwishMLP(
            state_size, state_features, state_features, state_depth, key=k_state
        )
        self.main = SwishMLP(ctx_features + state_features, state_size, width, depth, key=k_main)
        self.state_size = state_size
        self.context_size = context_size
        self.taylor_order = taylor_order

    def field_from_features(
        self, x: Float[Array, " D"], features: Float[Array, " c"]
    ) -> Float[Array, " D"]:
        """``g(x, c)``: the vector field given the context sub-network's output ``c``."""
        return self.main(jnp.concatenate([self.state_net(x), features]))

    def vector_field(self, x: Float[Array, " D"], ctx: Float[Array, " d"]) -> Float[Array, " D"]:
        """``f(x, ξ)`` (recomputes the context features; for tests and analysis)."""
        return self.field_from_features(x, self.ctx_net(ctx))

    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time D"]:
        """Roll out ``f(·, ctx)`` from ``x[:, 0]``; the context features are computed once."""
        features = self.ctx_net(ctx)
        return solve_many(
            lambda _, y: self.field_from_features(y, features), x[:, 0], t, solver, scale=scale
        )

    def context_jet(self, anchor: Float[Array, " d"], ctx: Float[Array, " d"]) -> Jet:
        """Taylor coefficients of the context features along ``ctx - anchor``, up to
        ``taylor_order``: ``(h0,)``, ``(h0, J_h v)`` or ``(h0, J_h v, H_h[v, v])``."""
        v = ctx - anchor
        if self.taylor_order == 0:
            return (self.ctx_net(anchor),)
        if self.taylor_order == 1:
            return jax.jvp(self.ctx_net, (anchor,), (v,))
        return _second_order_jet(self.ctx_net, anchor, v)

    def taylor_field(self, x: Float[Array, " D"], jet: Jet) -> Float[Array, " D"]:
        """The Taylor-expanded vector field at ``x`` given the context jet."""
        if len(jet) == 1:
            return self.field_from_features(x, jet[0])
        if len(jet) == 2:
            value, d1 = jax.jvp(lambda c: self.field_from_features(x, c), (jet[0],), (jet[1],))
            return value + d1
        h0, h1, h2 = jet

        def curve(s):
            return self.field_from_features(x, h0 + s * h1 + 0.5 * (s * s) * h2)

        zero = jnp.zeros((), h0.dtype)
        value, d1, d2 = _second_order_jet(curve, zero, jnp.ones((), h0.dtype))
        return value + d1 + 0.5 * d2

    def train_predict(
        self,
        ctx: Float[Array, " d"],
        pool: Float[Array, "pool d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "pool traj time D"]:
        """One rollout per pool row, with the field expanded around that row (see module doc).

        Row 0 is the environment's own context, so its expansion point equals ``ctx``
        (v = 0): the expansion is ``f(·, ctx)`` exactly, in value and in first derivatives
        (the order-1 term's gradient at v = 0 is the context gradient of ``f``, the order-2
        term's is zero). That row is the plain rollout, without the Taylor machinery; with a
        pool of one the Taylor order costs nothing.
        """
        own = self.predict(ctx, x, t, solver, scale)[None]
        if pool.shape[0] == 1:
            return own

        def rollout(anchor):
            jet = self.context_jet(anchor, ctx)
            return solve_many(
                lambda _, y: self.taylor_field(y, jet), x[:, 0], t, solver, scale=scale
            )

        return jnp.concatenate([own, jax.vmap(rollout)(pool[1:])])
