"""The package itself: loading, digests, the archive, deciding a batch
exactly as the CLI does, and the errors bad input gets."""

import datetime
import hashlib
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import verdict

import customers
from common import AS_OF, POLICIES, WORK, check, cli_lines, ok, table_lines

NAMES = ["loan-rates", "product-ladder", "staff-allowance"]


def raises(kind, call, *fragments):
    """Runs `call`, which must raise `kind` with every fragment in its message."""
    try:
        call()
    except kind as error:
        text = str(error)
        for fragment in fragments:
            check(fragment in text, f"{kind.__name__} message {text!r} lacks {fragment!r}")
        return text
    raise AssertionError(f"expected {kind.__name__}")


policies = verdict.Policies.load(POLICIES)
check(policies.names() == NAMES, f"names: {policies.names()}")
digests = policies.digests()
check([d["policy"] for d in digests] == NAMES, f"digests: {digests}")
for digest in digests:
    check(set(digest) == {"policy", "module_sha256", "params_sha256"}, f"digest keys: {digest}")
    check(len(digest["module_sha256"]) == 64 and len(digest["params_sha256"]) == 64, f"digest: {digest}")
ok("load and digests")

# Deciding a batch gives the CLI's decisions for the same file, byte for byte.
table = customers.table(3000)
path = os.path.join(WORK, "customers.parquet")
pq.write_table(table, path, row_group_size=1000)
expected = cli_lines(path)
check(len(expected) == 3 * 3000, f"{len(expected)} CLI lines")
decided = pa.Table.from_batches(
    [policies.decide(batch, as_of=AS_OF) for batch in pq.read_table(path).to_batches(max_chunksize=1000)]
)
check(decided.schema.equals(verdict.decisions_schema()), f"schema: {decided.schema}")
got = table_lines(decided)
check(len(got) == len(expected), f"{len(got)} rows for {len(expected)} CLI lines")
for i, (a, b) in enumerate(zip(got, expected)):
    check(a == b, f"decision {i} differs:\n package {a}\n CLI     {b}")
check(set(decided.column("outcome").to_pylist()) >= {"approve", "deny", "quote", "offer", "none", "not-applicable"},
      f"outcomes: {set(decided.column('outcome').to_pylist())}")
by_policy = {d["policy"]: d for d in digests}
for row in decided.select(["policy", "module_sha256", "params_sha256", "as_of"]).to_pylist():
    digest = by_policy[row["policy"]]
    check(row["module_sha256"] == digest["module_sha256"], f"row module: {row}")
    check(row["params_sha256"] == digest["params_sha256"], f"row params: {row}")
    check(row["as_of"] == datetime.date(2026, 11, 23), f"row as_of: {row}")
ok("decide matches verdict eval byte for byte (9000 decisions)")

# A batch from any Arrow PyCapsule producer, and an empty one.
one = policies.decide(table.slice(0, 5).to_batches()[0], as_of=AS_OF)
check(one.num_rows == 15, f"{one.num_rows} rows for 5 customers")
empty = policies.decide(pa.RecordBatch.from_pylist([], schema=customers.SCHEMA), as_of=AS_OF)
check(empty.num_rows == 0 and empty.schema.equals(verdict.decisions_schema()), "empty batch")
ok("small and empty batches")

# The archive: what it stores, loading from it, and every byte checked.
archive = os.path.join(WORK, "policies.archive")
check(policies.archive(archive) == digests, "archive() returns digests()")
for digest in digests:
    module = os.path.join(archive, "modules", digest["module_sha256"] + ".wasm")
    with open(module, "rb") as file:
        check(hashlib.sha256(file.read()).hexdigest() == digest["module_sha256"], f"{module} content")
    check(os.path.exists(os.path.join(archive, "params", digest["params_sha256"] + ".json")), "params entry")
shipped = verdict.Policies.from_archive(archive, digests)
check(shipped.digests() == digests, f"shipped digests: {shipped.digests()}")
again = shipped.decide(table.to_batches(max_chunksize=3000)[0], as_of=AS_OF)
check(table_lines(pa.Table.from_batches([again])) == expected, "the archived policies decide as the loaded ones")
only = verdict.Policies.from_archive(archive, [by_policy["staff-allowance"]])
check(only.names() == ["staff-allowance"], f"one policy: {only.names()}")
ok("archive and from_archive")

tampered = os.path.join(WORK, "tampered.archive")
shutil.copytree(archive, tampered)
victim = os.path.join(tampered, "modules", by_policy["loan-rates"]["module_sha256"] + ".wasm")
with open(victim, "r+b") as file:
    data = bytearray(file.read())
    data[-1] ^= 1
    file.seek(0)
    file.write(data)
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(tampered, digests),
       "module", by_policy["loan-rates"]["module_sha256"], "does not match its name")
os.remove(victim)
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(tampered, digests), "is missing")
params = os.path.join(tampered, "params", by_policy["staff-allowance"]["params_sha256"] + ".json")
with open(params, "w", encoding="utf-8") as file:
    file.write('{"staff_limit_usd": 9000}')
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(tampered, [by_policy["staff-allowance"]]),
       "parameter set", "does not match its name")
wrong = dict(by_policy["staff-allowance"], module_sha256=by_policy["loan-rates"]["module_sha256"])
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(archive, [wrong]), "declares no parameter")
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(archive, [dict(by_policy["loan-rates"], extra="x")]),
       "digest 0", "unknown key `extra`")
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(archive, [{"policy": "x", "module_sha256": "abc", "params_sha256": "abc"}]),
       "digest 0", "`module_sha256` is not a SHA-256")
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(archive, [digests[0], digests[0]]),
       "named by two digests")
raises(verdict.ArchiveError, lambda: verdict.Policies.from_archive(archive, []), "no digests")
check(issubclass(verdict.ArchiveError, verdict.VerdictError), "ArchiveError is a VerdictError")
ok("archive errors: altered, missing, bad digests")

# Bad input: the row and column, and nothing decided.
rows = [customers.customer(i) for i in range(5)]
rows[2]["birth_date"] = datetime.date(2030, 1, 1)
bad = pa.RecordBatch.from_pylist(rows, schema=customers.SCHEMA)
raises(verdict.InputError, lambda: policies.decide(bad, as_of=AS_OF), "row 3", "`birth_date`")
raises(verdict.InputError, lambda: policies.decide(bad, as_of=AS_OF, first_row=101), "row 103")
raises(verdict.InputError, lambda: policies.decide(bad.drop_columns(["id"]), as_of=AS_OF), "`id`")
typed = bad.set_column(2, "birth_date", pa.array([1, 2, 3, 4, 5], pa.int64()))
raises(verdict.InputError, lambda: policies.decide(typed, as_of=AS_OF), "`birth_date`")
raises(verdict.InputError, lambda: policies.decide(table.to_batches()[0], as_of="2026-13-01"), "2026-13-01")
raises(ValueError, lambda: policies.decide([1, 2], as_of=AS_OF), "__arrow_c_array__")
ok("input errors name the row and column")

broken = os.path.join(WORK, "broken-policies")
shutil.copytree(POLICIES, broken, ignore=shutil.ignore_patterns("profiles", "tests"))
target = os.path.join(os.path.dirname(os.path.abspath(POLICIES)), "target")
for name in os.listdir(broken):
    binding = os.path.join(broken, name)
    with open(binding, encoding="utf-8") as file:
        text = file.read().replace("../target", target)
    if name == "staff-allowance.toml":
        text = text.replace("staff_limit_usd = 2000", 'staff_limit_usd = "lots"')
    with open(binding, "w", encoding="utf-8") as file:
        file.write(text)
message = raises(verdict.PolicyError, lambda: verdict.Policies.load(broken), "staff-allowance.toml:")
check("staff_limit_usd" in message, f"names the parameter: {message}")
raises(verdict.PolicyError, lambda: verdict.Policies.load(os.path.join(WORK, "nowhere")), "nowhere")
ok("policy errors name the file, line and column")

# An experiment in a binding splits customers in the package exactly as the
# documented rule does (recomputed here with hashlib), as the CLI does.
split = os.path.join(WORK, "split-policies")
shutil.copytree(POLICIES, split, ignore=shutil.ignore_patterns("profiles", "tests"))
for name in os.listdir(split):
    binding = os.path.join(split, name)
    with open(binding, encoding="utf-8") as file:
        text = file.read().replace("../target", target)
    if name == "staff-allowance.toml":
        text += ('\n[challenger]\nid = "allowance-2027"\nmode = "split"\npercent = 25\n'
                 'salt = "py"\n\n[challenger.params]\nstaff_limit_usd = 2500\n')
    with open(binding, "w", encoding="utf-8") as file:
        file.write(text)
experiment = verdict.Policies.load(split)
batch = customers.table(400).to_batches()[0]
rows = experiment.decide(batch, as_of=AS_OF).to_pylist()
check(len(rows) == 3 * batch.num_rows, f"one answer per customer and policy: {len(rows)}")
arms = {"champion": 0, "challenger": 0}
for row in rows:
    if row["policy"] != "staff-allowance":
        check(row["arm"] is None and row["experiment"] is None and row["answered"], f"outside: {row}")
        continue
    digest = hashlib.sha256(b"allowance-2027\0py\0" + row["customer"].encode()).digest()
    wanted = "challenger" if int.from_bytes(digest[:8], "big") * 1_000_000 < 250_000 << 64 else "champion"
    check(row["arm"] == wanted and row["experiment"] == "allowance-2027" and row["answered"], f"arm: {row}")
    arms[wanted] += 1
check(arms["challenger"] > 0 and arms["champion"] > arms["challenger"], f"arms: {arms}")
split_file = os.path.join(WORK, "split.parquet")
pq.write_table(pa.Table.from_batches([batch]), split_file)
cli = cli_lines(split_file, policies_dir=split)
got = table_lines(pa.Table.from_pylist(rows))
check(got == cli, f"package and CLI differ:\n package {got[:6]}\n CLI     {cli[:6]}")
ok("an experiment splits customers as the documented rule says")
