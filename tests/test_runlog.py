"""Job logging: the run's label on every line, and a training log that keeps every attempt."""

import logging

import pytest

from mixer.runlog import configure_logging, keep_attempts, run_label, run_name


def test_run_label_and_name():
    assert run_name("geps", "mixer2", 0) == "geps-mixer2-seed0"
    assert run_label("odebench2", "geps", "mixer2", 0) == "odebench2/geps-mixer2-seed0"


def test_every_line_carries_the_run_label(tmp_path, mixer_logger, capsys):
    """Issue 15, item 6: the console lines of parallel jobs say which run they belong to."""
    log = configure_logging(tmp_path / "job.log", run="lv/geps-mixer3-seed0")
    log.info("outer step 1/4")
    logging.getLogger("mixer.train").warning("a child logger too")
    lines = (tmp_path / "job.log").read_text().splitlines()
    assert len(lines) == 2
    assert all("[lv/geps-mixer3-seed0] " in line for line in lines)
    assert "[lv/geps-mixer3-seed0] mixer.train: a child logger too" in lines[1]
    assert "[lv/geps-mixer3-seed0] mixer: outer step 1/4" in capsys.readouterr().err
    configure_logging(tmp_path / "plain.log").info("no run")
    assert "[" not in (tmp_path / "plain.log").read_text()


def test_training_log_keeps_every_attempt(tmp_path, mixer_logger):
    """Issue 15, item 1: Snakemake deletes a job's log before each attempt; the lines of the
    earlier attempts come back from the copy next to the checkpoint."""
    log_path, attempts = tmp_path / "run" / "train.log", tmp_path / "run" / "ckpt" / "train.log"
    log = configure_logging(log_path, run="r")
    log.info("attempt 1 starts")
    assert keep_attempts(log, log_path, attempts) == 0
    log.info("attempt 1 step 2")
    log_path.unlink()  # what Snakemake does before rerunning the job

    log = configure_logging(log_path, run="r")
    log.info("attempt 2 starts")
    assert keep_attempts(log, log_path, attempts) == 2
    log.info("attempt 2 done")
    for handler in log.handlers:
        handler.flush()
    messages = [line.split(": ", 1)[1] for line in log_path.read_text().splitlines()]
    assert messages == [
        "attempt 1 starts",
        "attempt 1 step 2",
        "attempt 2 starts",
        "attempt 2 done",
    ]
    assert attempts.read_text() == log_path.read_text()
    with pytest.raises(ValueError, match="not a log file"):
        keep_attempts(log, tmp_path / "other.log", attempts)
