"""Airflow DAG: the five restlake demo pipelines, in parallel.

Like the original framework's ``demo_all_pipelines_parallel``: one BashOperator per
auth pattern (none, basic, bearer, OAuth2 client credentials, OAuth2 password),
all running at once, between a task that writes the demo sources and configs and a
task that inspects the resulting Delta tables.

Where it runs: any Airflow worker that has Node 20 and restlake installed
(``npm ci`` in RESTLAKE_HOME) and can reach the demo platform, i.e. the mock API and
OAuth2 server that ``restlake demo serve`` starts (the ``mock-api`` service of
orchestration/docker-compose.yml). The secrets come from the environment, never
from this file: set DEMO_BASIC_PASSWORD, DEMO_BEARER_TOKEN, DEMO_CLIENT_SECRET and
DEMO_USER_PASSWORD on the workers (docker-compose.yml does, with demo values).

Each task runs ``restlake run <config> --json``: the last line of its log is a JSON
summary, and the exit code says what happened (0 done, 1 failed rows with
execution.fail_on_failed_rows, 2 bad config, 3 could not run). Reruns resume: rows
that already succeeded are skipped, so clearing a failed task and running it again
sends only what is missing.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

try:  # Airflow 3 moved the operator into the standard provider.
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

RESTLAKE_HOME = os.environ.get("RESTLAKE_HOME", "/opt/restlake")
RESTLAKE = f"cd {RESTLAKE_HOME} && node bin/restlake.mjs"
DEMO_DIR = os.environ.get("RESTLAKE_DEMO_DIR", "/opt/restlake/demo-lake")
DEMO_ROWS = int(os.environ.get("RESTLAKE_DEMO_ROWS", "2000"))

# Where the pipelines find the demo platform; the example configs read these with ${env:...}.
PLATFORM_ENV = {
    "RESTLAKE_DEMO_API": os.environ.get("RESTLAKE_DEMO_API", "http://mock-api:8200"),
    "RESTLAKE_DEMO_TOKEN_URL": os.environ.get("RESTLAKE_DEMO_TOKEN_URL", "http://mock-api:8180/token"),
}

# One pipeline per auth pattern: the `name` of each config in examples/.
DEMO_PIPELINES = [
    "demo_none",
    "demo_basic",
    "demo_bearer",
    "demo_oauth2_client_credentials",
    "demo_oauth2_password",
]

default_args = {
    "owner": "data-platform",
    "retries": 1,
    "retry_delay": timedelta(seconds=30),
    "execution_timeout": timedelta(minutes=30),
}

with DAG(
    dag_id="restlake_demo_parallel",
    description="Run the five restlake demo pipelines (one per auth pattern) in parallel",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=len(DEMO_PIPELINES),
    default_args=default_args,
    tags=["restlake", "demo"],
    doc_md=__doc__,
) as dag:
    prepare = BashOperator(
        task_id="prepare_demo",
        bash_command=f"{RESTLAKE} demo prepare --dir {DEMO_DIR} --rows {DEMO_ROWS}",
    )

    runs = [
        BashOperator(
            task_id=f"run_{name}",
            bash_command=f"{RESTLAKE} run {DEMO_DIR}/pipelines/{name}.yaml --json",
            env=PLATFORM_ENV,
            append_env=True,  # keep PATH and the DEMO_* secrets of the worker's environment
        )
        for name in DEMO_PIPELINES
    ]

    inspect = BashOperator(
        task_id="inspect_tables",
        bash_command=" && ".join(f"{RESTLAKE} inspect {DEMO_DIR}/{name}" for name in DEMO_PIPELINES),
    )

    prepare >> runs >> inspect
