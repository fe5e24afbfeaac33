"""The contexts the Epilepsy2 classifier sees: every series' context re-inferred by one
adaptation of the frozen model, and whether that adaptation has converged."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # the JAX side is imported only by the functions that adapt
    from mixer.envdata import EnvData
    from mixer.experiment import RunSpec
    from mixer.layer import MixER

__all__ = ["reinfer_contexts", "adaptation_convergence"]


def reinfer_contexts(
    run: RunSpec, model: MixER, parts: Sequence[EnvData], *, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Contexts of every series of ``parts`` by ONE adaptation call of the frozen model.

    The series the model was trained on and the held-out ones go through the same procedure
    (contexts from 0, ``steps`` AdaBelief steps, ``mixer.experiment.adapt_run`` with the run's
    other adaptation settings), so a classifier trained on some and tested on others compares
    one population.  The co-trained contexts are deliberately not an input.

    Args:
        run: the run's ``RunSpec``.
        model: the trained ``MixER``.
        parts: ``EnvData`` splits (same time grid length), concatenated in order.
        steps: adaptation steps (enough to converge; see :func:`adaptation_convergence`).

    Returns:
        Contexts ``(N, d)`` and the loss before every step ``(steps, N)``, as NumPy arrays.
    """
    import jax.numpy as jnp

    from mixer.envdata import EnvData
    from mixer.experiment import adapt_run

    if not parts:
        raise ValueError("reinfer_contexts needs at least one split")
    lengths = {p.x.shape[2] for p in parts}
    if len(lengths) != 1:
        raise ValueError(f"splits have different series lengths {sorted(lengths)}")
    data = EnvData(x=jnp.concatenate([p.x for p in parts]), t=jnp.concatenate([p.t for p in parts]))
    adapt_cfg = dataclasses.replace(run.adapt, steps=int(steps))
    contexts, losses = adapt_run(dataclasses.replace(run, adapt=adapt_cfg), model, data)
    return np.asarray(contexts), np.asarray(losses)


def adaptation_convergence(
    losses: ArrayLike, *, tail: float = 0.1, tol: float = 1e-2
) -> dict[str, Any]:
    """Whether adaptation has converged, from its loss curves ``(steps, N)``.

    Per series, the *projected decrease*: the relative drop of the mean loss from the window of
    ``tail * steps`` steps before the last window to the last window, scaled by
    ``steps / window`` (what as many further steps would still gain at the current rate; a
    rise is negative).  Adaptation has converged when the median over series is below ``tol``
    in magnitude.  The median, not every series: with a frozen top-1 gate, a context that
    crosses a gate boundary switches expert, its loss jumps and falls again, so a few series
    are caught mid-way at any step count.

    Returns:
        ``steps``, ``loss_first`` and ``loss_last`` (mean over series),
        ``tail_decrease_median`` and ``tail_decrease_max`` (projected), ``converged_fraction``
        (share of series within ``tol``) and ``converged``.  Fewer than two steps cannot show
        convergence: NaN decreases, ``converged`` False.
    """
    curves = np.asarray(losses, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[0] == 0 or curves.shape[1] == 0:
        raise ValueError(f"losses must be a non-empty (steps, N) array, got {curves.shape}")
    steps = curves.shape[0]
    if steps < 2:
        decrease = np.full(curves.shape[1], np.nan)
    else:
        window = min(max(1, int(tail * steps)), steps // 2)
        before = curves[-2 * window : -window].mean(axis=0)
        last = curves[-window:].mean(axis=0)
        decrease = (before - last) / np.maximum(np.abs(before), 1e-12) * (steps / window)
    median = float(np.median(decrease))
    return {
        "steps": int(steps),
        "loss_first": float(curves[0].mean()),
        "loss_last": float(curves[-1].mean()),
        "tail_decrease_median": median,
        "tail_decrease_max": float(np.max(decrease)),
        "converged_fraction": float(np.mean(np.abs(decrease) < tol)),
        "converged": bool(abs(median) < tol),
    }
