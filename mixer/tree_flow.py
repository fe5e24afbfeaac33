"""JAX control flow over pytrees that may hold non-array leaves (kept static), as the training
step's state does: ``filter_cond``, ``filter_scan``, and ``all_finite``."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool

__all__ = ["all_finite", "filter_cond", "filter_scan"]


def all_finite(tree: Any) -> Bool[Array, ""]:
    """Whether every entry of every array leaf of ``tree`` is finite (True for no leaves)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def filter_cond(pred, true_fn, false_fn, operand):
    """``lax.cond`` over a pytree that may hold non-array leaves (kept static)."""
    dyn, static = eqx.partition(operand, eqx.is_array)

    def wrap(fn):
        def inner(d):
            new, out = fn(eqx.combine(d, static))
            return eqx.filter(new, eqx.is_array), out

        return inner

    new_dyn, out = jax.lax.cond(pred, wrap(true_fn), wrap(false_fn), dyn)
    return eqx.combine(new_dyn, static), out


def filter_scan(body, carry, xs):
    """``lax.scan`` over a carry that may hold non-array leaves (kept static)."""
    dyn, static = eqx.partition(carry, eqx.is_array)

    def inner(d, x):
        new, out = body(eqx.combine(d, static), x)
        return eqx.filter(new, eqx.is_array), out

    new_dyn, outs = jax.lax.scan(inner, dyn, xs)
    return eqx.combine(new_dyn, static), outs
