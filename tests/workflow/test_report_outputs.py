"""What `snakemake --report` can show (issue 15, item 5): every table has an HTML rendering and
every training job declares its training-curves figure, so Snakemake knows these files (a file a
job writes without declaring it can never be in the report).

The report flags themselves are checked by CI's `snakemake all --report` step on the test
config; here a dry run shows that the jobs declare the files."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def planned_outputs(tmp_path, *targets):
    """``{rule: [outputs of each planned job]}`` of a forced dry run of ``targets``."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            *targets,
            "-n",
            "--forceall",
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(tmp_path),
            "--configfile",
            str(ROOT / "config/test.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(.*?)(?:\n\n|\Z)", proc.stdout, flags=re.M | re.S)
    found: dict[str, list[list[str]]] = {}
    for rule, body in jobs:
        match = re.search(r"^\s+output: (.*)$", body, flags=re.M)
        found.setdefault(rule, []).append(match.group(1).split(", ") if match else [])
    return found


def test_tables_have_html_and_runs_declare_their_training_curves(tmp_path):
    jobs = planned_outputs(tmp_path, "odebench2", "odebench10a", "lv", "sccts")
    for outputs in jobs["train"]:
        run = Path(next(o for o in outputs if o.endswith("train.json"))).parent
        assert str(run / "training_curves.png") in outputs, outputs
    rules = ("aggregate", "table_odebench10", "table4", "sccts_outputs")
    tables = [
        o for rule in rules for outs in jobs[rule] for o in outs if o.startswith("results/tables/")
    ]
    markdown = {o[: -len(".md")] for o in tables if o.endswith(".md")}
    assert markdown == {
        "results/tables/odebench2",
        "results/tables/table2_odebench10a",
        "results/tables/table4_lv_go_sm",
        "results/tables/sccts_clustering",
    }
    assert {o[: -len(".html")] for o in tables if o.endswith(".html")} == markdown
