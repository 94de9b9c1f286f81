#!/usr/bin/env bash
# Installs what restlake's tests need beyond npm, into the repo-local, gitignored .tools/:
#   .tools/venv        Python venv: pyspark, deltalake (delta-rs), pyarrow, moto[server] (requirements-test.txt)
#   .tools/jars/delta  delta-spark + delta-storage jars matching pyspark (jars-pom.xml, via mvn dependency:copy)
#   .tools/jars/s3a    hadoop-aws + AWS SDK bundle, so Spark can read s3a:// tables
#   .tools/spark-conf  spark-defaults.conf for test Spark apps (quick-starting executor JVMs)
#   .tools/airflow-venv Apache Airflow (optional), to load the example DAG into a real DagBag
#   .tools/paths.json  where all of that is, read by src/testkit/python.ts
# Idempotent: a stamp (hash of these inputs) makes a repeated run return at once. Quiet: the tools'
# output goes to .tools/setup.log, shown only when a step fails. Safe to run concurrently (flock).
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SETUP="$ROOT/scripts/setup"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
JARS="$TOOLS/jars"
LOG="$TOOLS/setup.log"
STAMP="$TOOLS/test-deps.stamp"
PATHS="$TOOLS/paths.json"

mkdir -p "$TOOLS"
exec 9>"$TOOLS/.setup.lock"
flock 9

# Everything that decides what gets installed; a change re-runs the installs (which skip what is already
# there). The fast path runs no Python at all: a repeated `npm test` should not pay for interpreter starts.
WANT="$(cat "$SETUP/test-deps.sh" "$SETUP/requirements-test.txt" "$SETUP/jars-pom.xml" "$ROOT/bench/setup.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ -f "$PATHS" ] && [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi

pick_python() {
  # pyspark 4.0 and pyarrow 26 want Python 3.10+; prefer an explicit choice, then the usual names.
  local c
  for c in "${RESTLAKE_PYTHON:-}" python3.11 python3.12 python3 python3.10; do
    [ -n "$c" ] || continue
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys, venv, ensurepip; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 14) else 1)' >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

PY="$(pick_python)" || {
  echo "test-deps: FAILED: no Python 3.10-3.13 with the venv module on PATH (set RESTLAKE_PYTHON=/path/to/python3)" >&2
  exit 1
}

: >"$LOG"
STEP=""
T0=$SECONDS
on_error() {
  echo "test-deps: FAILED during: $STEP (full log: $LOG); last lines:" >&2
  tail -n 40 "$LOG" >&2 || true
  if [ -n "${MVN_PID:-}" ]; then kill "$MVN_PID" 2>/dev/null || true; fi
  if [ -n "${AIRFLOW_PID:-}" ]; then kill "$AIRFLOW_PID" 2>/dev/null || true; fi
}
trap on_error ERR
step() {
  STEP="$1"
  STEP_T0=$SECONDS
  echo "== $STEP" >>"$LOG"
}
done_step() { echo "test-deps: $STEP: $((SECONDS - STEP_T0))s" >&2; }

step "system tools (java 17+, maven, chromium, nginx, wrk)"
need_apt=()
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then need_apt+=(openjdk-17-jdk-headless); fi
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
# Debian's Chromium: the HTML report is checked in a real headless browser (playwright-core drives it).
[ -x "${RESTLAKE_CHROMIUM:-/usr/bin/chromium}" ] || need_apt+=(chromium)
# The benchmark's smoke test (bench/run.test.mjs): nginx with the echo module, and wrk.
command -v nginx >/dev/null 2>&1 || need_apt+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need_apt+=(libnginx-mod-http-echo)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"; } >>"$LOG" 2>&1
  else
    echo "test-deps: FAILED: missing ${need_apt[*]}; install them (Java 17+, Maven 3.8+, Chromium, nginx-light + libnginx-mod-http-echo, wrk)" >&2
    exit 1
  fi
fi
done_step

step "benchmark venv (aiohttp)"
bash "$ROOT/bench/setup.sh" >>"$LOG" 2>&1
done_step

# Maven mostly waits on the network and pip mostly on the CPU: run them side by side.
mkdir -p "$JARS"
mvn -B -q -f "$SETUP/jars-pom.xml" -Drestlake.jars="$JARS" dependency:copy >"$TOOLS/mvn.log" 2>&1 &
MVN_PID=$!

# Apache Airflow, in a venv of its own (its pins clash with pyspark's), so CI loads the example
# DAG into a real DagBag. Optional: when it cannot be installed the DAG test falls back to
# byte-compiling and a stand-in, and says so.
AIRFLOW_VENV="$TOOLS/airflow-venv"
(
  if ! "$AIRFLOW_VENV/bin/python" -c 'import airflow' >/dev/null 2>&1; then
    rm -rf "$AIRFLOW_VENV"
    "$PY" -m venv "$AIRFLOW_VENV" &&
      "$AIRFLOW_VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check --no-input -q 'apache-airflow==3.3.2'
  fi
) >"$TOOLS/airflow.log" 2>&1 &
AIRFLOW_PID=$!

step "python venv ($("$PY" -c 'import platform; print(platform.python_version())')) + pip install"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" >>"$LOG" 2>&1
fi
# No pip cache: on a fresh machine it only costs time and ~0.5 GB of writes (pyspark is an sdist),
# and a machine that already ran this keeps the venv itself.
"$VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check --no-input -q \
  -r "$SETUP/requirements-test.txt" >>"$LOG" 2>&1
"$VENV/bin/python" -c 'import pyspark, deltalake, pyarrow, moto.server, boto3' >>"$LOG" 2>&1
done_step

step "jars (mvn dependency:copy, waited for after pip)"
mvn_rc=0
wait "$MVN_PID" || mvn_rc=$?
cat "$TOOLS/mvn.log" >>"$LOG"
[ "$mvn_rc" = 0 ]
done_step

step "airflow (optional, waited for after the jars)"
AIRFLOW_PYTHON=""
if wait "$AIRFLOW_PID" && "$AIRFLOW_VENV/bin/python" -c 'import airflow' >>"$TOOLS/airflow.log" 2>&1; then
  AIRFLOW_PYTHON="$AIRFLOW_VENV/bin/python"
else
  echo "test-deps: warning: Apache Airflow did not install (see $TOOLS/airflow.log); the DAG test will only byte-compile it" >&2
fi
done_step

step "spark-conf + paths.json"
# Test JVMs live for seconds to minutes on 2 busy cores: C1-only JIT and the serial GC start them
# 2-4x faster. src/testkit/python.ts sets the same options for drivers and daemons.
mkdir -p "$TOOLS/spark-conf"
cat >"$TOOLS/spark-conf/spark-defaults.conf" <<'CONF'
spark.executor.extraJavaOptions -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
CONF
"$VENV/bin/python" - "$PATHS" "$JARS" "$TOOLS/spark-conf" "$AIRFLOW_PYTHON" >>"$LOG" 2>&1 <<'PYEOF'
import glob, json, os, sys
import pyspark, deltalake
out, jars, conf, airflow = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
spark_home = os.path.dirname(os.path.abspath(pyspark.__file__))
paths = {
    "python": sys.executable,
    "sparkHome": spark_home,
    "sparkVersion": pyspark.__version__,
    "sparkConfDir": conf,
    "deltalakeVersion": deltalake.__version__,
    "deltaJars": sorted(glob.glob(os.path.join(jars, "delta", "*.jar"))),
    "s3aJars": sorted(glob.glob(os.path.join(jars, "s3a", "*.jar"))),
}
if airflow:
    paths["airflowPython"] = airflow
for key in ("deltaJars", "s3aJars"):
    if len(paths[key]) != 2:
        sys.exit(f"expected 2 jars in {key}, found {paths[key]}")
for tool in ("spark-submit", "spark-class"):
    if not os.access(os.path.join(spark_home, "bin", tool), os.X_OK):
        sys.exit(f"{tool} is missing or not executable under {spark_home}/bin")
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(paths, f, indent=2)
os.replace(tmp, out)
PYEOF
done_step

echo "$WANT" >"$STAMP"
echo "test-deps: ready in $((SECONDS - T0))s (.tools/)" >&2
