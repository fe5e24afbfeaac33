"""Numerical integration shared by every initial-value-problem backbone (SPEC §2.1).

- ``registry``: the one table of solver names, ``SolverConfig`` and the Diffrax parts built
  from it (the data simulators draw their solvers from the same table).
- ``ivp``: ``solve_ivp`` / ``solve_many`` (Diffrax, differentiable) for training and
  evaluation, and the grid solvers' ``grid_rollout``.
- ``lanes`` (with ``erk_lanes``): the forward-only ``lanes_sq_error`` that scores many
  rollouts at once for the gate's loss matrix.
"""

from mixer.solve.erk_lanes import MIN_LANES as MIN_LANES
from mixer.solve.ivp import grid_rollout as grid_rollout
from mixer.solve.ivp import scaled_field as scaled_field
from mixer.solve.ivp import solve_ivp as solve_ivp
from mixer.solve.ivp import solve_many as solve_many
from mixer.solve.lanes import LanesField as LanesField
from mixer.solve.lanes import lanes_sq_error as lanes_sq_error
from mixer.solve.lanes import rollout_sq_error as rollout_sq_error
from mixer.solve.registry import GRID_SOLVERS as GRID_SOLVERS
from mixer.solve.registry import SOLVERS as SOLVERS
from mixer.solve.registry import SolverConfig as SolverConfig
from mixer.solve.registry import VectorField as VectorField
