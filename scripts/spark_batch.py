#!/usr/bin/env python3
"""Runs `aadtrace batch` as a Spark job and queries the results with Spark SQL.

How the work is split:
  1. The driver asks aadtrace which traces there are (`aadtrace batch --list INPUTS`):
     one path per trace, `ARCHIVE!/MEMBER` for archive members.
  2. Spark spreads the paths over partitions. Each partition's task pipes its share
     into `aadtrace batch --manifest - --format parquet -o OUT/part-NNNNN` on the
     worker; no coordination is needed, and a retried task rewrites its own folder.
  3. The driver reads OUT/part-*/{traces,flows,findings}.parquet with Spark SQL.

Usage (local mode, as the tests run it; PySpark from PyPI and a Java runtime):
  python3 scripts/spark_batch.py --binary target/release/aadtrace \
      --inputs captures/ --out /tmp/aadtrace-spark [--partitions 4] [--master local[2]]

On a cluster, the inputs and OUT must be on storage every worker sees, and the
binary must be on every worker at the same path. The counts are printed as
`key=value` lines on standard output.
"""

import argparse
import os
import subprocess
import sys


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="the aadtrace executable")
    ap.add_argument("--inputs", required=True, nargs="+", help="files, directories, archives")
    ap.add_argument("--out", required=True, help="output directory (one folder per partition)")
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    ap.add_argument("--jobs-per-task", type=int, default=1, help="aadtrace --jobs in each task")
    return ap.parse_args()


def main():
    args = parse_args()
    binary = os.path.abspath(args.binary)
    out = os.path.abspath(args.out)
    jobs = str(args.jobs_per_task)

    listing = subprocess.run(
        [binary, "batch", "--list", *args.inputs],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    if not listing:
        sys.exit("no traces found in " + " ".join(args.inputs))

    # Workers run this same Python, so cloudpickle'd functions import cleanly.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(args.master)
        .appName("aadtrace-batch")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    def analyse_partition(index, paths):
        """One task: its paths through `aadtrace batch --manifest -`, Parquet out."""
        paths = list(paths)
        if not paths:
            return
        part = os.path.join(out, "part-%05d" % index)
        proc = subprocess.run(
            [binary, "batch", "--quiet", "--jobs", jobs, "--manifest", "-",
             "--format", "parquet", "-o", part],
            input="\n".join(paths) + "\n",
            capture_output=True,
            text=True,
        )
        # 0: done; 1: findings at or above --fail-on (never by default); 2: failed.
        if proc.returncode not in (0, 1):
            raise RuntimeError("aadtrace failed on partition %d: %s" % (index, proc.stderr))
        yield (index, len(paths))

    done = (
        spark.sparkContext.parallelize(listing, args.partitions)
        .mapPartitionsWithIndex(analyse_partition)
        .collect()
    )

    for table in ("traces", "flows", "findings"):
        spark.read.parquet(os.path.join(out, "part-*", table + ".parquet")).createOrReplaceTempView(table)

    def one(sql):
        return spark.sql(sql).first()[0]

    print("partitions=%d" % len(done))
    print("listed=%d" % len(listing))
    print("traces=%d" % one("SELECT count(*) FROM traces"))
    print("errors=%d" % one("SELECT count(*) FROM traces WHERE error_kind IS NOT NULL"))
    print("flows=%d" % one("SELECT count(*) FROM flows"))
    print("findings=%d" % one("SELECT count(*) FROM findings"))
    top = spark.sql(
        """SELECT code, count(*) AS findings, count(DISTINCT path) AS traces
           FROM findings WHERE code IS NOT NULL
           GROUP BY code ORDER BY findings DESC, code LIMIT 5"""
    ).collect()
    print("top_code=%s" % (top[0]["code"] if top else ""))
    for row in top:
        print("  AADSTS%-8d findings %6d traces %6d" % (row["code"], row["findings"], row["traces"]))
    mfa = spark.sql(
        """SELECT m.result AS result, count(*) AS attempts,
                  percentile_approx(m.waited_ms, 0.5) AS p50_ms
           FROM flows LATERAL VIEW explode(mfa) AS m
           GROUP BY m.result ORDER BY attempts DESC, result"""
    ).collect()
    for row in mfa:
        print("  mfa %-10s attempts %5d p50 %8.0f ms" % (row["result"], row["attempts"], row["p50_ms"]))
    spark.stop()


if __name__ == "__main__":
    main()
