"""A trivial job for a standalone Spark cluster: rows go through `node transform_double.mjs` in the
executors (SQL script transformation, as restlake's Spark engine does) and the driver prints one JSON
summary line. Submit with: spark-submit --master spark://... --files transform_double.mjs spark_smoke.py N
"""

import json
import sys

from pyspark.sql import SparkSession


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    spark = SparkSession.builder.appName("restlake-cluster-smoke").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(0, n, 1, 4).createOrReplaceTempView("ids")
    # Without Hive, TRANSFORM's default output format does not split on tabs: say so on both sides.
    tabs = "ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t'"
    rows = spark.sql(
        f"SELECT TRANSFORM(to_json(struct(id))) {tabs} USING 'node transform_double.mjs' "
        f"AS (doubled BIGINT, pid STRING, cwd STRING, node STRING) {tabs} FROM ids"
    ).collect()
    print(json.dumps({
        "master": spark.sparkContext.master,
        "count": len(rows),
        "sum": sum(r["doubled"] for r in rows),
        "pids": sorted({r["pid"] for r in rows}),
        "cwds": sorted({r["cwd"] for r in rows}),
        "node": sorted({r["node"] for r in rows}),
    }))
    spark.stop()


if __name__ == "__main__":
    main()
