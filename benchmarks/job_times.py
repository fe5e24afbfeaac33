"""Where a workflow run's wall time goes: per-rule job counts and seconds from Snakemake's log.

Reads the console log of a ``snakemake`` run (what it prints, or ``.snakemake/log/*.log``):
every job's start (``[date]`` then ``rule NAME:`` / ``localrule NAME:`` ... ``jobid: N``) and
end (``[date]`` then ``Finished jobid: N``), and prints one table: per rule, the jobs, the
summed job seconds (what the rule costs in core-slots), the mean and the longest job, and the
run's wall time from the first start to the last end. Timestamps have one-second resolution.

    python benchmarks/job_times.py run.log            # a table on stdout
    python benchmarks/job_times.py run.log --json     # one JSON line
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+)")


def job_spans(lines: list[str]) -> list[tuple[str, datetime, datetime]]:
    """(rule, start, end) of every finished job in a Snakemake console log."""
    stamp: datetime | None = None
    rule: str | None = None
    started: dict[str, tuple[str, datetime]] = {}
    spans = []
    for line in lines:
        if match := _STAMP.match(line.strip()):
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif match := _RULE.match(line.strip()):
            rule = match.group(1)
        elif (match := _JOBID.match(line)) and rule is not None and stamp is not None:
            started[match.group(1)] = (rule, stamp)
            rule = None
        elif (match := _FINISHED.match(line.strip())) and stamp is not None:
            if match.group(1) in started:
                name, begin = started.pop(match.group(1))
                spans.append((name, begin, stamp))
    return spans


def summarise(spans: list[tuple[str, datetime, datetime]]) -> dict:
    """Per-rule jobs and seconds, and the run's wall time."""
    per_rule: dict[str, list[float]] = defaultdict(list)
    for name, begin, end in spans:
        per_rule[name].append((end - begin).total_seconds())
    rules = {
        name: {
            "jobs": len(seconds),
            "job_seconds": sum(seconds),
            "mean_s": sum(seconds) / len(seconds),
            "max_s": max(seconds),
        }
        for name, seconds in sorted(per_rule.items(), key=lambda kv: -sum(kv[1]))
    }
    wall = (max(e for _, _, e in spans) - min(b for _, b, _ in spans)).total_seconds()
    return {"wall_seconds": wall, "jobs": len(spans), "rules": rules}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    spans = job_spans(args.log.read_text().splitlines())
    if not spans:
        raise SystemExit(f"{args.log}: no finished Snakemake job found")
    summary = summarise(spans)
    if args.json:
        print(json.dumps(summary))
        return
    total = sum(r["job_seconds"] for r in summary["rules"].values())
    out = sys.stdout
    out.write(f"{'rule':<22}{'jobs':>6}{'job s':>9}{'share':>8}{'mean s':>9}{'max s':>8}\n")
    for name, r in summary["rules"].items():
        out.write(
            f"{name:<22}{r['jobs']:>6}{r['job_seconds']:>9.0f}{r['job_seconds'] / total:>8.1%}"
            f"{r['mean_s']:>9.1f}{r['max_s']:>8.0f}\n"
        )
    wall = summary["wall_seconds"]
    out.write(f"{summary['jobs']} jobs, {total:.0f} job-seconds, wall {wall:.0f} s\n")


if __name__ == "__main__":
    main()
