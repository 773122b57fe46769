"""The Spark recipe on a real local cluster: two executor JVMs, each with
its own Python workers. Its decisions equal `verdict eval`'s for the same
customers, and a job whose executor is killed mid-task still gives every
decision exactly once (Spark runs the task again on a live executor)."""

import collections
import glob
import os
import signal
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import verdict
from pyspark import TaskContext
from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

import customers
import spark_decide
from common import AS_OF, POLICIES, VERDICT, WORK, check, cli_lines, ok, table_lines

PARTS = 4
PER_PART = 1500
# The customer whose batch kills its executor, on the first attempt only.
MARKER = customers.customer(2 * PER_PART + 7)["id"]

# Four files, so Spark makes four tasks (at least one per file).
inputs = os.path.join(WORK, "customers")
os.makedirs(inputs)
expected = []
for part in range(PARTS):
    path = os.path.join(inputs, f"part-{part}.parquet")
    pq.write_table(customers.table(PER_PART, start=part * PER_PART), path)
    expected.extend(cli_lines(path))
expected.sort()

policies = verdict.Policies.load(POLICIES)
archive = os.path.join(WORK, "release.archive")
digests = policies.archive(archive)

spark = (
    SparkSession.builder.master("local-cluster[2,1,1024]")
    .appName("verdict-test")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.ui.enabled", "false")
    # Every file a partition of its own: Spark packs small files together
    # up to the cost it counts for opening one.
    .config("spark.sql.files.openCostInBytes", str(1 << 30))
    .config("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
    .config("spark.task.maxFailures", "4")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")


def read_back(path):
    files = sorted(glob.glob(os.path.join(path, "*.parquet")))
    return pa.concat_tables([pq.read_table(f, schema=verdict.decisions_schema()) for f in files])


def check_complete(table, label):
    got = sorted(table_lines(table))
    check(len(got) == len(expected), f"{label}: {len(got)} decisions, expected {len(expected)}")
    pairs = collections.Counter(zip(table.column("customer").to_pylist(), table.column("policy").to_pylist()))
    check(max(pairs.values()) == 1, f"{label}: a decision appears twice")
    for i, (a, b) in enumerate(zip(got, expected)):
        check(a == b, f"{label}: decision {i} differs:\n spark {a}\n CLI   {b}")
    by_policy = {d["policy"]: d for d in digests}
    for row in table.select(["policy", "module_sha256", "params_sha256"]).to_pylist():
        want = by_policy[row["policy"]]
        check(row["module_sha256"] == want["module_sha256"] and row["params_sha256"] == want["params_sha256"],
              f"{label}: row not decided by the shipped digests: {row}")


# The recipe as it is: same rows as the CLI, decided on both executors.
frame = spark.read.parquet(inputs)
check(frame.rdd.getNumPartitions() >= PARTS, f"{frame.rdd.getNumPartitions()} partitions")
decisions = spark_decide.decide_portfolio(spark, frame, archive, digests, AS_OF)
first = os.path.join(WORK, "decisions-1")
decisions.write.parquet(first)
check_complete(read_back(first), "cluster run")
ok(f"spark: {len(expected)} decisions on a 2-executor cluster equal verdict eval's")

# The cluster's rows replay on the archived bytes, every one identical.
combined = os.path.join(WORK, "cluster-decisions.parquet")
pq.write_table(read_back(first), combined)
replay = subprocess.run([VERDICT, "replay", combined, "--archive", archive], capture_output=True, text=True, check=False)
check(replay.returncode == 0, f"verdict replay failed ({replay.returncode}): {replay.stdout}{replay.stderr}")
check(f"{len(expected)} identical" in replay.stdout, f"replay: {replay.stdout}")
ok("spark: verdict replay finds every cluster decision identical")


def executor_jvm():
    """The executor JVM this Python worker serves (an ancestor process)."""
    pid = os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            if b"CoarseGrainedExecutorBackend" in file.read():
                return pid
        with open(f"/proc/{pid}/stat", encoding="utf-8") as file:
            pid = int(file.read().rsplit(")", 1)[1].split()[1])
    raise RuntimeError("no executor JVM above this worker")


killed = os.path.join(WORK, "killed")
os.makedirs(killed)
decide = spark_decide.decider(os.path.basename(archive) + ".zip", digests, AS_OF)


def decide_or_kill(batches):
    """The recipe's function, except that the first attempt at the batch
    holding MARKER kills its own executor JVM before deciding it."""
    context = TaskContext.get()
    for batch in batches:
        if context.attemptNumber() == 0 and MARKER in batch.column("id").to_pylist():
            jvm = executor_jvm()
            open(os.path.join(killed, f"{context.partitionId()}-{jvm}"), "w").close()
            os.kill(jvm, signal.SIGKILL)
            os._exit(1)
        yield from decide(iter([batch]))


second = os.path.join(WORK, "decisions-2")
frame.mapInArrow(decide_or_kill, from_arrow_schema(verdict.decisions_schema())).write.parquet(second)
check(len(os.listdir(killed)) == 1, f"kills: {os.listdir(killed)}")
check_complete(read_back(second), "run with a killed executor")
ok("spark: an executor killed mid-task; the task ran again and every decision is there once")
spark.stop()
