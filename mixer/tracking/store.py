"""The MLflow store shared by many concurrent jobs (an SQLite database): the database and its
experiments are created under a file lock next to it, every write is retried on database
contention, and artifact locations given as relative paths stay relative to the working
directory. MLflow is imported inside the functions that need it."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TypeGuard, TypeVar
from urllib.parse import urlparse

__all__ = [
    "ensure_store",
    "open_store",
    "with_retries",
    "artifact_uri",
    "default_artifact_location",
]

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")


def _sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of an ``sqlite:///`` URI (None for other stores or in-memory)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    path = tracking_uri[len(prefix) :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


@contextlib.contextmanager
def _store_lock(tracking_uri: str) -> Iterator[None]:
    """Exclusive inter-process lock (``<db>.lock``) around store and experiment creation for
    SQLite stores; creates the database's folder. A no-op for other stores."""
    db_path = _sqlite_path(tracking_uri)
    if db_path is None:
        yield
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(db_path.with_name(db_path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_transient(error: Exception) -> bool:
    """Errors worth retrying: database trouble (locks, races on a new store), as opposed to
    invalid input."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, MlflowException):
        return error.error_code not in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    return isinstance(error, SQLAlchemyError)


def with_retries(action: Callable[[], _T], what: str, attempts: int = 8) -> _T:
    """Run ``action``, retrying transient failures with exponential backoff (0.1 s doubling,
    about 13 s in all); the last failure, or any non-transient one, is raised."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as error:
            if attempt == attempts - 1 or not _is_transient(error):
                raise
            _LOG.warning("%s failed (attempt %d/%d): %s", what, attempt + 1, attempts, error)
            time.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")


def artifact_uri(location: str | Path) -> str:
    """A URI stays as it is, an absolute path becomes a ``file://`` URI, and a relative path
    stays relative (to the working directory of every process that logs or serves artifacts)."""
    location = str(location)
    if len(urlparse(location).scheme) > 1:  # a URI: file://, s3://, mlflow-artifacts:, ...
        return location
    path = Path(location)
    return path.resolve().as_uri() if path.is_absolute() else path.as_posix()


def default_artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """``mlartifacts/<experiment>`` next to an SQLite database (relative when the database
    path is); None for other stores (the server decides)."""
    db_path = _sqlite_path(tracking_uri)
    return None if db_path is None else artifact_uri(db_path.parent / "mlartifacts" / experiment)


def _is_relative(location: str | None) -> TypeGuard[str]:
    return (
        location is not None
        and len(urlparse(location).scheme) <= 1
        and not Path(location).is_absolute()
    )


def _keep_relative_location(tracking_uri: str, experiment_id: str, location: str) -> None:
    """MLflow makes a relative artifact location absolute when it creates an experiment; write
    the relative form back (SQLite stores only), so that the runs' artifact URIs, derived from
    it, stay relative to the working directory."""
    db_path = _sqlite_path(tracking_uri)
    if db_path is None:
        _LOG.warning("artifact location %r: only an SQLite store keeps it relative", location)
        return
    with contextlib.closing(sqlite3.connect(db_path, timeout=60)) as connection, connection:
        connection.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
            (location, int(experiment_id)),
        )


def _get_or_create_experiment(
    client, tracking_uri: str, name: str, artifact_location: str | None
) -> str:
    """The id of experiment ``name``, created when missing (a relative ``artifact_location``
    stays relative). Safe against a concurrent creation by another process (the loser of the
    unique-name race reads the winner's experiment)."""

    def attempt() -> str:
        existing = client.get_experiment_by_name(name)
        if existing is None:
            try:
                experiment_id = client.create_experiment(name, artifact_location=artifact_location)
            except Exception:
                existing = client.get_experiment_by_name(name)
                if existing is None:
                    raise
            else:
                if _is_relative(artifact_location):
                    _keep_relative_location(tracking_uri, experiment_id, artifact_location)
                return experiment_id
        if existing.lifecycle_stage == "deleted":
            _LOG.warning("restoring deleted MLflow experiment %r", name)
            client.restore_experiment(existing.experiment_id)
        return existing.experiment_id

    return with_retries(attempt, f"getting or creating MLflow experiment {name!r}")


def open_store(tracking_uri: str, artifact_locations: Mapping[str, str | None]):
    """A client on the store plus the id of every experiment, creating what is missing."""
    from mlflow.tracking import MlflowClient

    with _store_lock(tracking_uri):
        client = MlflowClient(tracking_uri=tracking_uri)
        ids = {
            name: _get_or_create_experiment(client, tracking_uri, name, location)
            for name, location in artifact_locations.items()
        }
    return client, ids


def ensure_store(
    tracking_uri: str, artifact_root: str | Path, experiments: Iterable[str]
) -> dict[str, str]:
    """Create the tracking store (the SQLite database and its tables) and the given
    experiments if they do not exist yet; experiment ``name`` stores its artifacts under
    ``artifact_root/name``. Idempotent. Returns the id of every experiment."""
    locations = {name: artifact_uri(Path(artifact_root) / name) for name in experiments}
    _, ids = open_store(tracking_uri, locations)
    return ids
