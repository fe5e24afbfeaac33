"""Experiment tracking: an abstract ``Tracker``, a do-nothing ``NullTracker`` and an MLflow
backend (``MlflowTracker``).

This is the only package of the library that uses MLflow, and it imports MLflow lazily
(inside the functions that need it), so ``import mixer.tracking`` stays cheap. MLflow is a browsing
dashboard only: results, tables and figures are built from the files the workflow writes.

The MLflow store is an SQLite database (e.g. ``sqlite:///results/mlflow.db``) shared by many
concurrent jobs. Creating the database and the experiments is serialised with a file lock next
to the database, experiment creation is create-or-get, and every write is retried on database
contention, so several processes may start on a new store and log at once.

One training run is one MLflow run: a resumed job reopens the run of its earlier attempt
(``MlflowTracker(resume_run_id=...)``), a run left RUNNING by a killed job is marked KILLED at
the next start, and the evaluation jobs add their metrics to the finished run
(:func:`log_to_run`). Artifact locations given as relative paths stay relative (to the working
directory of the processes that log and serve them), so moving the working directory with its
``results/`` keeps every artifact reachable.

Modules: ``base`` (the interface, ``NullTracker``), ``store`` (creating the store and its
experiments, retries), ``runs`` (earlier and stale runs), ``mlflow_tracker``
(``MlflowTracker``), ``finished`` (``log_to_run``).
"""

from mixer.tracking.base import NullTracker as NullTracker
from mixer.tracking.base import Tracker as Tracker
from mixer.tracking.base import flatten_dict as flatten_dict
from mixer.tracking.finished import log_to_run as log_to_run
from mixer.tracking.mlflow_tracker import MlflowTracker as MlflowTracker
from mixer.tracking.store import ensure_store as ensure_store

__all__ = ["Tracker", "NullTracker", "MlflowTracker", "ensure_store", "flatten_dict", "log_to_run"]
