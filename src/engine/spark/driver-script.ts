// The PySpark driver program restlake submits (client mode). It is kept as text in a
// module so it ships inside dist/ with the rest of the package; the engine writes it to
// the run's temp dir and passes it to spark-submit.
//
// Why PySpark and not `spark-sql -f`: the job is a loop (count, then one Delta commit per
// batch) with progress between commits and a structured error at the end; pip pyspark
// has no Hive thrift-server jars that spark-sql needs; and executors still need no
// Python at all (only DataFrame/SQL operations, no Python UDFs), just Node for TRANSFORM.
//
// Talking to restlake (the parent process):
//   - argv[1] is plan.json (no secrets: paths, names, options).
//   - events go to stdout as `RESTLAKE_EVENT {json}` lines (spark-submit merges Python's
//     stdout and stderr, so a prefix tells ours apart from log lines);
//   - the one question it asks (the sink schema and request_id SQL for the source's
//     columns) is answered through a file: restlake owns that logic, in TypeScript, and
//     PythonRunner gives the script no usable stdin.
//
// Contract with src/engine/spark/plan.ts: keep the two in step.

export const DRIVER_SCRIPT = String.raw`
import json, os, sys, threading, time, traceback

from pyspark.sql import DataFrame, SparkSession, Window, functions as F


def emit(event, **fields):
    fields["event"] = event
    fields["t"] = round(time.time(), 3)
    sys.stdout.write("RESTLAKE_EVENT " + json.dumps(fields) + "\n")
    sys.stdout.flush()


BT = chr(96)  # a backtick, which this script's TypeScript wrapper cannot hold literally


def q(name):
    return BT + name.replace(BT, BT + BT) + BT


def read_source(spark, src):
    if src["table"]:
        return spark.read.table(src["table"])
    fmt, path = src["format"], src["path"]
    if fmt == "delta":
        return spark.read.format("delta").load(path)
    if fmt == "parquet":
        return spark.read.parquet(path)
    # CSV and JSON are read with the types DuckDB finds (src["schema"]), so values,
    # column order and request_ids match the local engine; Spark infers only without one.
    # src["options"]: the dialect, encoding and FAILFAST (plan.ts sourceReadOptions).
    reader = spark.read.options(**src["options"])
    if src.get("schema"):
        reader = reader.schema(src["schema"])
    elif fmt == "csv":
        reader = reader.options(inferSchema="true")
    if fmt == "csv":
        df = reader.csv(path)
    elif fmt == "json":
        df = reader.json(path)
    else:
        raise ValueError("unknown source format " + fmt)
    # Columns read as text because Spark's parser takes fewer forms than DuckDB did
    # (t/f booleans, dates in the format DuckDB found), converted as DuckDB read them by
    # a Spark SQL expression each (plan.ts source.casts).
    casts = src.get("casts") or {}
    if casts:
        df = df.select(*[F.expr(casts[c]).alias(c) if c in casts else F.col(q(c)) for c in df.columns])
    return df


def ask(plan, question):
    # restlake answers by writing the reply file (atomically, by rename).
    with open(plan["question_file"], "w") as f:
        json.dump(question, f)
    emit("question", file=plan["question_file"])
    deadline = time.time() + 120
    while not os.path.exists(plan["answer_file"]):
        if time.time() > deadline:
            raise RuntimeError("restlake did not answer the schema question")
        time.sleep(0.05)
    with open(plan["answer_file"]) as f:
        answer = json.load(f)
    if answer.get("error"):
        emit("error", message=answer["error"], kind="config")
        sys.exit(2)
    return answer


def is_delta_table(spark, path):
    # isDeltaTable answers false for a path without a table; an exception is a real
    # failure (S3 credentials, a missing s3a jar). Taken for "no table", it would skip
    # resume and send every row again, so it stops the run with its own message.
    return bool(spark._jvm.io.delta.tables.DeltaTable.isDeltaTable(spark._jsparkSession, path))


class TaskProgress(threading.Thread):
    # Reports finished/total tasks of the running batch's last stage (the TRANSFORM + write).
    def __init__(self, sc):
        super().__init__(daemon=True)
        self.sc, self.group, self.stop_flag = sc, None, False

    def run(self):
        last = None
        while not self.stop_flag:
            time.sleep(1.0)
            group = self.group
            if group is None:
                continue
            try:
                tracker = self.sc.statusTracker()
                done = total = 0
                for job_id in tracker.getJobIdsForGroup(group):
                    job = tracker.getJobInfo(job_id)
                    if job is None or not job.stageIds:
                        continue
                    stage = tracker.getStageInfo(max(job.stageIds))
                    if stage is not None:
                        done += stage.numCompletedTasks
                        total += stage.numTasks
                if total and (done, total) != last:
                    last = (done, total)
                    emit("tasks", group=group, done=done, total=total)
            except Exception:
                pass


def exit_with_restlake(pid):
    # spark-submit runs in its own process group (so restlake can stop it as a whole); if
    # the restlake process dies without stopping it, end this application instead of
    # leaving it holding the cluster.
    def watch():
        while True:
            time.sleep(2)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(3)
            except PermissionError:
                pass
    threading.Thread(target=watch, daemon=True).start()


def main(plan_path):
    with open(plan_path) as f:
        plan = json.load(f)
    if plan.get("parent_pid"):
        exit_with_restlake(int(plan["parent_pid"]))
    builder = SparkSession.builder.appName(plan["app_name"])
    # Credentials in the Spark conf come from a file, not spark-submit's command line
    # (which any local user can read while the job runs).
    if plan.get("secret_conf_file"):
        with open(plan["secret_conf_file"]) as f:
            for key, value in json.load(f).items():
                builder = builder.config(key, value)
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    # Spark's and Delta's defaults (200 shuffle partitions, 50 for Delta's log replay) are
    # sized for big clusters; a task per partition costs dearly on a small one. The
    # user's own settings win (plan lists which keys they set).
    small = str(max(2, 2 * sc.defaultParallelism))
    for key in ("spark.sql.shuffle.partitions", "spark.databricks.delta.snapshotPartitions"):
        if key not in plan["user_conf_keys"]:
            spark.conf.set(key, small)
    emit("started", spark_version=spark.version, app_id=sc.applicationId, parallelism=sc.defaultParallelism)

    src = read_source(spark, plan["source"])
    if plan["source"]["limit"] is not None:
        src = src.limit(int(plan["source"]["limit"]))
    answer = ask(plan, {"columns": [{"name": f.name, "type": f.dataType.simpleString()} for f in src.schema.fields]})

    rid = plan["request_id_column"]
    pos, nth, bucket = "__restlake_pos", "__restlake_n", "__restlake_bucket"
    with_id = src.selectExpr("*", answer["request_id_sql"] + " AS " + q(rid), "monotonically_increasing_id() AS " + pos)
    # The first row of each request_id wins, in source order, as in the local engine.
    ranked = with_id.withColumn(nth, F.row_number().over(Window.partitionBy(rid).orderBy(pos))).persist()
    seen = ranked.agg(F.count(F.lit(1)).alias("n"), F.sum(F.when(F.col(nth) > 1, 1).otherwise(0)).alias("dups")).collect()[0]
    source_rows, duplicates = seen["n"], seen["dups"] or 0
    df = ranked.where(F.col(nth) == 1).drop(nth, pos)

    sink = plan["sink"]["path"]
    mode = plan["sink"]["mode"]
    exists = is_delta_table(spark, sink)
    if exists and mode == "append" and plan["resume"]:
        # Pin the snapshot: the batches below append to this very table.
        version = spark.sql("DESCRIBE HISTORY delta." + q(sink) + " LIMIT 1").collect()[0]["version"]
        done = (spark.read.format("delta").option("versionAsOf", version).load(sink)
                .where(F.col("success")).select(F.col("request_id").alias(rid)).distinct())
        df = df.join(done, rid, "left_anti")
    if plan["max_requests"] is not None:
        df = df.limit(int(plan["max_requests"]))

    # Batches are ranges of a hash of request_id, so a batch is the same set of rows however
    # often Spark recomputes it. One pass counts rows per bucket; consecutive buckets then
    # make batches of about commit_rows rows.
    BUCKETS = 4096
    bucket_of = lambda c: F.pmod(F.xxhash64(F.col(c)), F.lit(BUCKETS))
    df = df.withColumn(bucket, bucket_of(rid)).persist()
    per_bucket = sorted((r[bucket], r["count"]) for r in df.groupBy(bucket).count().collect())
    ranked.unpersist()
    pending = sum(n for _, n in per_bucket)
    ranges, lo, acc = [], None, 0
    for k, n in per_bucket:
        lo = k if lo is None else lo
        acc += n
        if acc >= plan["commit_rows"]:
            ranges.append((lo, k, acc))
            lo, acc = None, 0
    if lo is not None:
        ranges.append((lo, per_bucket[-1][0], acc))
    emit("pending", rows=pending, batches=len(ranges), source_rows=source_rows, duplicates=duplicates,
         skipped_succeeded=(source_rows - duplicates - pending) if plan["max_requests"] is None else None)

    columns = ", ".join(q(c["name"]) + " " + c["type"] + ("" if c["nullable"] else " NOT NULL") for c in answer["sink_columns"])
    table = "delta." + q(sink)
    if mode == "overwrite" and exists:
        # Delta refuses CREATE OR REPLACE of a path table with another schema: overwrite it
        # with an empty frame of the sink schema (built in the JVM: no Python on executors).
        jschema = spark._jvm.org.apache.spark.sql.types.StructType.fromDDL(columns)
        empty = DataFrame(spark._jsparkSession.createDataFrame(spark._jvm.java.util.ArrayList(), jschema), spark)
        empty.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(sink)
        # Writes make every column nullable; restore the NOT NULL columns (best effort:
        # the rows are the same either way).
        for c in answer["sink_columns"]:
            if not c["nullable"]:
                try:
                    spark.sql("ALTER TABLE " + table + " ALTER COLUMN " + q(c["name"]) + " SET NOT NULL")
                except Exception:
                    pass
    spark.sql("CREATE TABLE IF NOT EXISTS " + table + " (" + columns + ") USING delta")

    json_schema = ", ".join(q(c["name"]) + " " + c["json_type"] for c in answer["sink_columns"])
    select = [F.expr(c["select_sql"]).alias(c["name"]) for c in answer["sink_columns"]]
    parallelism = plan["partitions"] or sc.defaultParallelism
    transform = ("SELECT TRANSFORM(to_json(struct(*), map('ignoreNullFields', 'false'))) USING '"
                 + plan["transform_command"] + "' AS (line STRING) FROM restlake_batch")

    progress = TaskProgress(sc)
    progress.start()
    totals = {"rows": 0, "ok": 0, "failed": 0, "failuresByClass": {}, "commits": 0}
    for b, (lo, hi, rows) in enumerate(ranges):
        group = "restlake-" + plan["run_id"] + "-" + str(b)
        sc.setJobGroup(group, "restlake batch %d/%d" % (b + 1, len(ranges)))
        emit("batch_start", index=b, rows=rows)
        part = df.where(F.col(bucket).between(lo, hi)).drop(bucket)
        # Hash partitioning on request_id: a retried task gets exactly the same rows.
        # A naive timestamp goes to the worker as DuckDB renders it (2024-03-25 14:05:00,
        # the cast's text), not as to_json's 2024-03-25T14:05:00.000.
        part = part.select(*[F.col(q(f.name)).cast("string").alias(f.name) if f.dataType.typeName() == "timestamp_ntz" else F.col(q(f.name)) for f in part.schema.fields])
        part.repartition(max(1, min(parallelism, rows)), F.col(rid)).createOrReplaceTempView("restlake_batch")
        progress.group = group
        results = (spark.sql(transform)
                   .select(F.from_json(F.col("line"), json_schema, {"mode": "FAILFAST"}).alias("r"))
                   .select(*select))
        (results.write.format("delta").mode("append")
            .option("txnAppId", plan["run_id"]).option("txnVersion", b)
            .save(sink))
        progress.group = None
        totals["commits"] += 1
        counts = (spark.read.format("delta").load(sink)
                  .where((F.col("run_id") == plan["run_id"]) & bucket_of("request_id").between(lo, hi))
                  .groupBy("success", "error_class").count().collect())
        ok = failed = 0
        classes = {}
        for row in counts:
            if row["success"]:
                ok += row["count"]
            else:
                failed += row["count"]
                cls = row["error_class"] or "unknown"
                classes[cls] = classes.get(cls, 0) + row["count"]
                totals["failuresByClass"][cls] = totals["failuresByClass"].get(cls, 0) + row["count"]
        totals["rows"] += ok + failed
        totals["ok"] += ok
        totals["failed"] += failed
        emit("batch", index=b, rows=ok + failed, ok=ok, failed=failed, failuresByClass=classes)
    progress.stop_flag = True
    df.unpersist()
    mine = spark.read.format("delta").load(sink).where(F.col("run_id") == plan["run_id"])
    q_ = mine.agg(F.percentile_approx("duration_ms", [0.5, 0.95, 0.99], 1000).alias("p"), F.max("duration_ms").alias("m")).collect()[0]
    p = q_["p"] or [0.0, 0.0, 0.0]
    totals["latency_ms"] = {"p50": p[0] or 0.0, "p95": p[1] or 0.0, "p99": p[2] or 0.0, "max": q_["m"] or 0.0}
    totals["table_version"] = spark.sql("DESCRIBE HISTORY delta." + q(sink) + " LIMIT 1").collect()[0]["version"]
    emit("done", **totals)
    spark.stop()


def describe(exc):
    # The most useful line for a user: the executor's own error (Spark puts the TRANSFORM
    # script's exit status and stderr tail in "Subprocess exited ..."), without JVM stacks.
    messages = []
    java = getattr(exc, "java_exception", None)
    while java is not None:
        try:
            messages.append(str(java.toString()))
            nxt = java.getCause()
        except Exception:
            break
        java = nxt if nxt is not None and not nxt.equals(java) else None
    if not messages:
        messages.append(str(exc))
    pick = next((m for m in messages if "Subprocess exited" in m), messages[0])
    i = pick.find("Subprocess exited")
    if i > 0:
        pick = pick[i:]
    lines = [l for l in pick.splitlines() if not l.startswith("\tat ") and not l.lstrip().startswith("at org.") and not l.strip().startswith("... ")]
    return "\n".join(lines).strip()


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except SystemExit:
        raise
    except BaseException as e:
        emit("error", message=describe(e), kind="spark", trace=traceback.format_exc()[-4000:])
        sys.exit(1)
`;
