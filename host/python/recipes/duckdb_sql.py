"""SQL over decisions on one machine: DuckDB reads the customers' Parquet,
Verdict decides its Arrow batches, DuckDB joins, filters and aggregates.

    python duckdb_sql.py POLICIES_DIR CUSTOMERS.parquet AS_OF
"""

import sys

import duckdb
import pyarrow as pa
import verdict


def decide_table(con, customers_parquet, policies, as_of, rows_per_batch=8192):
    """Creates table `decisions` from the customers in `customers_parquet`:
    DuckDB streams them as Arrow batches (from a cursor of its own, while
    the connection writes the table), Verdict decides each batch."""
    customers = (
        con.cursor()
        .sql("SELECT * FROM read_parquet(?)", params=[customers_parquet])
        .to_arrow_reader(rows_per_batch)
    )
    decided = pa.RecordBatchReader.from_batches(
        verdict.decisions_schema(),
        (policies.decide(batch, as_of=as_of) for batch in customers),
    )
    con.register("decided", decided)
    con.execute("CREATE TABLE decisions AS SELECT * FROM decided")
    con.unregister("decided")


# How many decisions of each outcome, per policy.
OUTCOMES = """
SELECT policy, outcome, count(*) AS decisions
FROM decisions
GROUP BY policy, outcome
ORDER BY policy, outcome
"""

# Loan quotes by customer segment: decisions joined back to the customers.
QUOTES_BY_SEGMENT = """
SELECT c.segment, count(*) AS quotes, round(avg(CAST(json_extract(d.value, '$.annual_rate_pct') AS DOUBLE)), 3) AS mean_annual_rate_pct
FROM decisions d JOIN read_parquet(?) c ON c.id = d.customer
WHERE d.policy = 'loan-rates' AND d.outcome = 'quote'
GROUP BY c.segment
ORDER BY c.segment
"""


def main(argv):
    policies_dir, customers_parquet, as_of = argv
    con = duckdb.connect()
    decide_table(con, customers_parquet, verdict.Policies.load(policies_dir), as_of)
    print(con.sql(OUTCOMES))
    print(con.sql(QUOTES_BY_SEGMENT, params=[customers_parquet]))


if __name__ == "__main__":
    main(sys.argv[1:])
