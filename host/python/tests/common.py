"""What the Python test scripts share: where things are (from the
environment tests/python.rs sets, which also puts `recipes/` on the path), the CLI's decisions for a file, and a
decisions row written out as the CLI writes a record."""

import json
import os
import subprocess

VERDICT = os.environ["VERDICT_BIN"]
POLICIES = os.environ["VERDICT_POLICIES"]
WORK = os.environ["VERDICT_WORK_DIR"]
AS_OF = "2026-11-23"


def cli_lines(profiles, as_of=AS_OF, policies_dir=POLICIES):
    """What `verdict eval --format jsonl` prints for `profiles`, line by line."""
    run = subprocess.run(
        [VERDICT, "eval", "--policies", policies_dir, "--profiles", profiles, "--format", "jsonl", "--as-of", as_of],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, f"verdict eval failed ({run.returncode}): {run.stderr}"
    return run.stdout.splitlines()


def _text(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def record_line(row):
    """A decisions row (a dict of its columns) as the JSON line `verdict
    eval --format jsonl` prints for the same decision: the columns' bytes
    are spliced in as they are (`value` is JSON text already)."""
    reasons = [{"code": r["code"], "message": r["message"]} for r in row["reasons"]]
    experiment = ""
    if row.get("experiment") is not None:
        experiment = (
            ',"experiment":' + _text(row["experiment"])
            + ',"arm":' + _text(row["arm"])
            + ',"answered":' + _text(row["answered"])
        )
    return (
        '{"customer":' + _text(row["customer"])
        + ',"policy":' + _text(row["policy"])
        + ',"plugin_version":' + _text(row["plugin_version"])
        + ',"module_sha256":' + _text(row["module_sha256"])
        + experiment
        + ',"outcome":' + _text(row["outcome"])
        + ',"value":' + row["value"]
        + ',"reasons":' + _text(reasons)
        + "}"
    )


def table_lines(table):
    """Every row of a decisions table as a CLI line."""
    return [record_line(row) for row in table.to_pylist()]


def check(condition, message):
    """Fails the script with `message` unless `condition`."""
    if not condition:
        raise AssertionError(message)


def ok(name):
    print(f"ok: {name}", flush=True)
