"""Reads (and writes) Delta tables with the reference engines, for restlake's interop tests.

One long-lived process per test file, so Spark starts at most once: it reads JSON requests, one per
line, on stdin, and answers each with one line `@@RESULT <json>` on stdout (Spark and py4j may print
other lines; only the marked ones are answers). Spark starts on the first request that needs it.

Requests ({"op": ..., ...}):
  read   {"engine": "deltalake"|"spark", "path": URI} -> {"version", "schema", "rows", "numFiles"}
         spark also takes "timestampAsOf" (ms since the epoch): the rows of the version current then;
         both take "versionAsOf": the rows of that version
  write  {"engine": "spark", "path", "ddl", "rows", "mode", "partitionBy", "checkpointInterval", "properties"} -> {"version"}
         (rows are JSON objects; string values of date/timestamp/decimal columns are cast by Spark SQL;
         properties: table properties of a new table, e.g. {"delta.columnMapping.mode": "name"})
  write  {"engine": "deltalake", "path", "rows", "partitionBy", "configuration"} -> {"version"}
         (column types as pyarrow infers them from the JSON values)
  checkpoint {"engine": "spark"|"deltalake", "path"} -> {} (a checkpoint of the latest version)
  scan   {"engine": "spark", "path", "where"} -> {"rows", "filesRead"}: the rows matching a SQL condition
         and how many files Spark read for them (after partition pruning and data skipping)
  history {"engine": "spark", "path"} -> {"commits": [{"version", "timestamp"}]} (timestamp in ms)
  stats  {"engine": "deltalake", "path"} -> {"files": [{"path", "numRecords", "min", "max", "nullCount"}]}:
         the per-file statistics delta-rs loaded, flattened ("min": {"id": ...})
  exit   {} -> {} and the process ends

Values are normalised so both engines and restlake compare equal: timestamps as UTC
'YYYY-MM-DDTHH:MM:SS.ffffff', dates as 'YYYY-MM-DD', decimals as strings with their scale, bytes as hex.
Rows come sorted by their JSON text. Errors answer {"error": "...", "traceback": "..."}.

S3: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION in the environment point
both engines at an S3-compatible server (credentials stay out of the command line).
Options: --spark-jars a,b,c (delta, and S3A for s3 paths); --work-dir DIR for Spark's scratch files.
"""

import argparse
import datetime as dt
import decimal
import json
import os
import sys
import traceback

ARGS = None
_spark = None


def norm(v):
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return v.isoformat(timespec="microseconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        # pyarrow gives maps as lists of (key, value) tuples
        return [norm(x) for x in v]
    return v


def sorted_rows(rows):
    rows = [{k: norm(v) for k, v in r.items()} for r in rows]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def s3_env():
    e = os.environ
    if not e.get("AWS_ENDPOINT_URL"):
        return None
    return {
        "endpoint": e["AWS_ENDPOINT_URL"],
        "key": e.get("AWS_ACCESS_KEY_ID", ""),
        "secret": e.get("AWS_SECRET_ACCESS_KEY", ""),
        "region": e.get("AWS_REGION", "us-east-1"),
    }


def storage_options():
    s3 = s3_env()
    if s3 is None:
        return None
    return {
        "AWS_ENDPOINT_URL": s3["endpoint"],
        "AWS_ACCESS_KEY_ID": s3["key"],
        "AWS_SECRET_ACCESS_KEY": s3["secret"],
        "AWS_REGION": s3["region"],
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }


def read_deltalake(path, version_as_of=None):
    from deltalake import DeltaTable

    t = DeltaTable(path, version=version_as_of, storage_options=storage_options())
    return {
        "version": t.version(),
        "schema": json.loads(t.schema().to_json()),
        "rows": sorted_rows(t.to_pyarrow_table().to_pylist()),
        "numFiles": len(t.file_uris()),
    }


def spark():
    global _spark
    if _spark is not None:
        return _spark
    from pyspark.sql import SparkSession

    work = ARGS.work_dir or os.getcwd()
    b = (
        SparkSession.builder.master("local[2]")
        .appName("restlake-interop")
        .config("spark.jars", ARGS.spark_jars or "")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC " + os.environ.get("SPARK_SUBMIT_OPTS", ""))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", os.path.join(work, "spark-warehouse"))
        .config("spark.local.dir", os.path.join(work, "spark-local"))
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    s3 = s3_env()
    if s3 is not None:
        for k, v in {
            "fs.s3a.endpoint": s3["endpoint"],
            "fs.s3a.endpoint.region": s3["region"],
            "fs.s3a.path.style.access": "true",
            "fs.s3a.connection.ssl.enabled": "false",
            "fs.s3a.access.key": s3["key"],
            "fs.s3a.secret.key": s3["secret"],
            "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "fs.s3a.change.detection.mode": "none",
            "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        }.items():
            b = b.config("spark.hadoop." + k, v)
    _spark = b.getOrCreate()
    _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def spark_path(path):
    # Spark's Hadoop file systems know s3a://; restlake and delta-rs write s3:// for the same objects.
    return "s3a://" + path[len("s3://"):] if path.startswith("s3://") else path


def read_spark(path, timestamp_as_of=None, version_as_of=None):
    s = spark()
    p = spark_path(path)
    r = s.read.format("delta")
    if timestamp_as_of is not None:
        at = dt.datetime.fromtimestamp(timestamp_as_of / 1000, dt.timezone.utc).replace(tzinfo=None)
        r = r.option("timestampAsOf", at.isoformat(sep=" ", timespec="milliseconds"))
    if version_as_of is not None:
        r = r.option("versionAsOf", version_as_of)
    df = r.load(p)
    q = "`" + p.replace("`", "``") + "`"
    detail = s.sql(f"DESCRIBE DETAIL delta.{q}").collect()[0]
    version = s.sql(f"DESCRIBE HISTORY delta.{q} LIMIT 1").collect()[0]["version"] if version_as_of is None else version_as_of
    return {
        "version": version,
        "schema": json.loads(df.schema.json()),
        "rows": sorted_rows([r.asDict(recursive=True) for r in df.collect()]),
        # DESCRIBE DETAIL describes the latest version; a time-travelled read counts its own files
        "numFiles": detail["numFiles"] if version_as_of is None else len(df.inputFiles()),
    }


def write_spark(path, ddl, rows, mode, partition_by, checkpoint_interval, properties=None):
    s = spark()
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, DecimalType, StringType, StructField, StructType, TimestampType

    target = StructType.fromDDL(ddl)
    # JSON in with dates, timestamps and decimals as text, then CAST by Spark SQL, as a user's job would.
    as_text = (DateType, DecimalType, TimestampType)
    loose = StructType([StructField(f.name, StringType() if isinstance(f.dataType, as_text) else f.dataType) for f in target.fields])
    raw = s.read.schema(loose).json(s.sparkContext.parallelize([json.dumps(r) for r in rows], 1))
    df = raw.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in target.fields])
    w = df.write.format("delta").mode(mode)
    if partition_by:
        w = w.partitionBy(*partition_by)
    p = spark_path(path)
    # A new table takes its properties from these session defaults.
    props = dict(properties or {})
    if checkpoint_interval:
        props["delta.checkpointInterval"] = str(checkpoint_interval)
    keys = ["spark.databricks.delta.properties.defaults." + k[len("delta."):] for k in props]
    for k, v in zip(keys, props.values()):
        s.conf.set(k, str(v))
    try:
        w.save(p)
    finally:
        for k in keys:
            s.conf.unset(k)
    q = "`" + p.replace("`", "``") + "`"
    return {"version": s.sql(f"DESCRIBE HISTORY delta.{q} LIMIT 1").collect()[0]["version"]}


def write_deltalake_rows(path, rows, partition_by, configuration):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(path, pa.Table.from_pylist(rows), mode="append", partition_by=partition_by or None,
                    configuration=configuration or None, storage_options=storage_options())
    return {"version": DeltaTable(path, storage_options=storage_options()).version()}


def checkpoint(engine, path):
    if engine == "spark":
        s = spark()
        s._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(s._jsparkSession, spark_path(path)).checkpoint()
    else:
        from deltalake import DeltaTable

        DeltaTable(path, storage_options=storage_options()).create_checkpoint()
    return {}


def scan_spark(path, where):
    s = spark()
    # Without adaptive execution the executed plan is the one that ran, with its scan's metrics.
    s.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        df = s.read.format("delta").load(spark_path(path)).where(where)
        rows = df.collect()
        leaves = df._jdf.queryExecution().executedPlan().collectLeaves()
        files = 0
        for i in range(leaves.size()):
            m = leaves.apply(i).metrics()
            if m.contains("numFiles"):
                files += m.apply("numFiles").value()
    finally:
        s.conf.unset("spark.sql.adaptive.enabled")
    return {"rows": sorted_rows([r.asDict(recursive=True) for r in rows]), "filesRead": files}


def history_spark(path):
    p = spark_path(path)
    q = "`" + p.replace("`", "``") + "`"
    rows = spark().sql(f"DESCRIBE HISTORY delta.{q}").collect()
    commits = [{"version": r["version"], "timestamp": round(r["timestamp"].replace(tzinfo=dt.timezone.utc).timestamp() * 1000)} for r in rows]
    return {"commits": sorted(commits, key=lambda c: c["version"])}


def stats_deltalake(path):
    from deltalake import DeltaTable

    import pyarrow as pa

    # An arro3 table in deltalake 1.x; pyarrow takes it through the Arrow C stream interface.
    actions = pa.table(DeltaTable(path, storage_options=storage_options()).get_add_actions(flatten=True)).to_pylist()
    out = []
    for a in actions:
        f = {"path": a["path"], "numRecords": a.get("num_records"), "min": {}, "max": {}, "nullCount": {}}
        for k, v in a.items():
            for prefix, key in (("min.", "min"), ("max.", "max"), ("null_count.", "nullCount")):
                if k.startswith(prefix):
                    f[key][k[len(prefix):]] = norm(v)
        out.append(f)
    return {"files": sorted(out, key=lambda f: f["path"])}


def handle(req):
    op = req.get("op")
    if op == "read":
        if req["engine"] == "deltalake":
            return read_deltalake(req["path"], req.get("versionAsOf"))
        if req["engine"] == "spark":
            return read_spark(req["path"], req.get("timestampAsOf"), req.get("versionAsOf"))
        raise ValueError(f"unknown engine {req['engine']!r}")
    if op == "write" and req["engine"] == "deltalake":
        return write_deltalake_rows(req["path"], req["rows"], req.get("partitionBy"), req.get("configuration"))
    if op == "write":
        return write_spark(req["path"], req["ddl"], req["rows"], req.get("mode", "append"), req.get("partitionBy"), req.get("checkpointInterval"), req.get("properties"))
    if op == "checkpoint":
        return checkpoint(req["engine"], req["path"])
    if op == "scan":
        return scan_spark(req["path"], req["where"])
    if op == "history":
        return history_spark(req["path"])
    if op == "stats":
        return stats_deltalake(req["path"])
    if op == "exit":
        return {}
    raise ValueError(f"unknown op {op!r}")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--spark-jars")
    p.add_argument("--work-dir")
    ARGS = p.parse_args()
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            res = handle(req)
        except Exception as e:  # the test shows the message; the session goes on
            res = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        out.write("@@RESULT " + json.dumps(res) + "\n")
        out.flush()
        if req.get("op") == "exit":
            break
    if _spark is not None:
        _spark.stop()


if __name__ == "__main__":
    main()
    # delta-rs' runtime threads can abort the interpreter's teardown (SIGABRT) after S3 reads.
    sys.stdout.flush()
    os._exit(0)
