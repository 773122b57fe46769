"""Decide a portfolio on a Spark cluster with Verdict, through mapInArrow.

The driver ships one policy archive (module bytes and parameter JSON, named
by SHA-256, zipped beside the archive directory) to every executor with the job; each executor's Python worker
loads exactly the digests it is given from its copy, checking every byte,
and decides the record batches Spark hands it. Every decision row says
which module and parameters made it (`module_sha256`, `params_sha256`).

As a job:

    spark-submit spark_decide.py ARCHIVE_DIR DIGESTS.json CUSTOMERS OUTPUT AS_OF

ARCHIVE_DIR and DIGESTS.json come from `verdict.Policies.load(...).archive(...)`
(see docs/batch.md, "Deploying to Spark"); CUSTOMERS is Parquet (a file or a
directory of files); OUTPUT is where the decisions Parquet goes.
"""

import json
import os
import shutil
import sys

import verdict
from pyspark import SparkFiles
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema


def decider(archive_name, digests, as_of):
    """The function mapInArrow runs on each partition: decides every batch
    of customers with the policies `digests` names, loaded from the copy of
    the archive Spark put on this executor."""

    def decide(batches):
        # Compiled modules are kept per process by SHA-256, so loading
        # again for each partition only reads and checks the archive.
        policies = verdict.Policies.from_archive(SparkFiles.get(archive_name), digests)
        for batch in batches:
            yield policies.decide(batch, as_of=as_of)

    return decide


def decide_portfolio(spark: SparkSession, customers: DataFrame, archive_dir, digests, as_of) -> DataFrame:
    """The decisions of every customer of `customers` (a DataFrame in the
    profile column layout) under the archived policies `digests` names."""
    # A cluster takes no local directory as a job file: the archive goes
    # as a zip, which Spark unpacks on each executor under the zip's name.
    archive_dir = os.path.abspath(archive_dir)
    packed = shutil.make_archive(archive_dir, "zip", archive_dir)
    spark.sparkContext.addArchive(packed)
    # The executors' workers import this module to run `decider`'s function.
    spark.sparkContext.addPyFile(os.path.abspath(__file__))
    name = os.path.basename(packed)
    schema = from_arrow_schema(verdict.decisions_schema())
    return customers.mapInArrow(decider(name, digests, as_of), schema)


def main(argv):
    archive_dir, digests_file, customers_path, output_path, as_of = argv
    with open(digests_file, encoding="utf-8") as file:
        digests = json.load(file)
    spark = SparkSession.builder.appName("verdict-decide").getOrCreate()
    customers = spark.read.parquet(customers_path)
    decisions = decide_portfolio(spark, customers, archive_dir, digests, as_of)
    decisions.write.mode("errorifexists").parquet(output_path)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
