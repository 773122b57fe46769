"""Throughput of the Python package from Parquet to Parquet.

    python host/python/benches/decide_parquet.py [CUSTOMERS] [POLICIES_DIR]

Generates CUSTOMERS (default 1,000,000) customers into a Parquet file
(tests/customers.py, the tests' generator), then reads it in batches of
8,192 rows, decides each batch under every policy of POLICIES_DIR (default
`policies`) and writes the decisions to Parquet, and prints the time, the
decisions per second and the process's peak memory. Run it with the
release wheel installed (`maturin build --release`).
"""

import os
import resource
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq
import verdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
import customers  # noqa: E402

AS_OF = "2026-11-23"


def generate(path, count):
    """Writes `count` generated customers to the Parquet file `path`."""
    writer = pq.ParquetWriter(path, customers.SCHEMA)
    for start in range(0, count, 100_000):
        writer.write_table(customers.table(min(100_000, count - start), start=start))
    writer.close()


def main(argv):
    if argv[:1] == ["--generate"]:
        generate(argv[1], int(argv[2]))
        return
    count = int(argv[0]) if argv else 1_000_000
    policies_dir = argv[1] if len(argv) > 1 else "policies"
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "customers.parquet")
        # In another process, so the peak memory below is the decisions'.
        subprocess.run([sys.executable, __file__, "--generate", source, str(count)], check=True)
        started = time.perf_counter()
        policies = verdict.Policies.load(policies_dir)
        loaded = time.perf_counter()
        decisions = 0
        out = pq.ParquetWriter(os.path.join(work, "decisions.parquet"), verdict.decisions_schema())
        for batch in pq.ParquetFile(source).iter_batches(batch_size=8192):
            decided = policies.decide(batch, as_of=AS_OF)
            out.write_batch(decided)
            decisions += decided.num_rows
        out.close()
        finished = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seconds = finished - loaded
        print(f"customers        {count}")
        print(f"policies         {len(policies.names())}")
        print(f"decisions        {decisions}")
        print(f"load policies    {loaded - started:.2f} s")
        print(f"read, decide, write  {seconds:.2f} s")
        print(f"decisions/s      {decisions / seconds:,.0f}")
        print(f"customers/s      {count / seconds:,.0f}")
        print(f"peak RSS         {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
