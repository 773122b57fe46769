"""The DuckDB recipe: SQL over the decisions of a Parquet portfolio, its
aggregates checked against the CLI's decisions for the same file."""

import collections
import json
import os

import duckdb
import pyarrow.parquet as pq
import verdict

import customers
import duckdb_sql
from common import AS_OF, POLICIES, WORK, check, cli_lines, ok

path = os.path.join(WORK, "portfolio.parquet")
pq.write_table(customers.table(20_000), path, row_group_size=5000)
records = [json.loads(line) for line in cli_lines(path)]
segments = {row["id"]: row["segment"] for row in pq.read_table(path, columns=["id", "segment"]).to_pylist()}

con = duckdb.connect()
duckdb_sql.decide_table(con, path, verdict.Policies.load(POLICIES), AS_OF)

outcomes = con.sql(duckdb_sql.OUTCOMES).fetchall()
want = collections.Counter((r["policy"], r["outcome"]) for r in records)
check(outcomes == sorted((p, o, n) for (p, o), n in want.items()), f"outcomes: {outcomes}")
check(sum(n for _, _, n in outcomes) == 60_000, "every decision counted")
ok(f"sql: GROUP BY outcome over 60000 decisions: {len(outcomes)} groups as verdict eval")

quotes = con.sql(duckdb_sql.QUOTES_BY_SEGMENT, params=[path]).fetchall()
rates = collections.defaultdict(list)
for r in records:
    if r["policy"] == "loan-rates" and r["outcome"] == "quote":
        rates[segments[r["customer"]]].append(r["value"]["annual_rate_pct"])
want = [(segment, len(v), sum(v) / len(v)) for segment, v in sorted(rates.items())]
check(len(want) == 2, f"both segments quoted: {want}")
check([(s, n) for s, n, _ in quotes] == [(s, n) for s, n, _ in want], f"quotes: {quotes} against {want}")
for (_, _, got), (_, _, expected) in zip(quotes, want):
    # DuckDB rounds the mean to 3 places.
    check(abs(got - expected) <= 0.0005 + 1e-9, f"mean rate {got} against {expected}")
ok(f"sql: join with the customers, filter and average: {quotes}")
