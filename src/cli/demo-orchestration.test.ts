// The orchestration files (orchestration/): the Airflow DAG and the docker-compose
// platform. No Docker engine runs here, so the compose file is checked for
// consistency with the code; the DAG is compiled, loaded against a recording stub
// of Airflow's API (structure: fan-out to the five demo pipelines and back), and,
// when an Airflow install is available, loaded into a real DagBag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEMO_EXAMPLES, EXAMPLES_DIR } from './demo-configs.js';
import { DEMO_SECRET_VARS } from './demo-servers.js';

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const ORCH = join(ROOT, 'orchestration');
const DAG_FILE = join(ORCH, 'airflow', 'dags', 'restlake_demo_parallel.py');
const PYTHON = process.env.RESTLAKE_PYTHON ?? 'python3';

async function demoNames(): Promise<string[]> {
  const names: string[] = [];
  for (const { file } of DEMO_EXAMPLES) names.push(String(parse(await readFile(join(EXAMPLES_DIR, file), 'utf8')).name));
  return names;
}

function py(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT) {
  const r = spawnSync(PYTHON, args, { cwd, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr + (r.error ? String(r.error) : '') };
}

test('the Airflow DAG byte-compiles with python3', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-dag-'));
  try {
    const r = py(['-c', `import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)`, DAG_FILE, join(dir, 'dag.pyc')]);
    assert.equal(r.code, 0, r.err);
    await stat(join(dir, 'dag.pyc'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// A minimal stand-in for the parts of Airflow the DAG uses, recording what it builds.
const STUB_INIT = `
import json
class DAG:
    current = None
    def __init__(self, dag_id, **kw):
        self.dag_id, self.kw, self.tasks = dag_id, kw, []
    def __enter__(self):
        DAG.current = self
        return self
    def __exit__(self, *a):
        DAG.current = None
`;
const STUB_BASH = `
from airflow import DAG
class BashOperator:
    def __init__(self, task_id, bash_command, env=None, append_env=False, **kw):
        self.task_id, self.bash_command, self.env, self.append_env = task_id, bash_command, env, append_env
        self.upstream = set()
        DAG.current.tasks.append(self)
    def _link(self, other):
        for o in (other if isinstance(other, list) else [other]):
            o.upstream.add(self.task_id)
        return other
    def __rshift__(self, other):
        return self._link(other)
    def __rrshift__(self, other):
        for o in (other if isinstance(other, list) else [other]):
            o._link(self)
        return self
`;
const STUB_LOAD = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
d = mod.dag
print(json.dumps({"dag_id": d.dag_id, "schedule": d.kw.get("schedule", "missing"), "max_active_tasks": d.kw.get("max_active_tasks"),
  "tasks": [{"id": t.task_id, "cmd": t.bash_command, "env": t.env, "append_env": t.append_env, "upstream": sorted(t.upstream)} for t in d.tasks]}))
`;

test('the DAG fans out from prepare to one task per demo pipeline and back to inspect', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-dag-stub-'));
  try {
    await mkdir(join(dir, 'airflow', 'operators'), { recursive: true });
    await writeFile(join(dir, 'airflow', '__init__.py'), STUB_INIT);
    await writeFile(join(dir, 'airflow', 'operators', '__init__.py'), '');
    await writeFile(join(dir, 'airflow', 'operators', 'bash.py'), STUB_BASH);
    const r = py(['-c', STUB_LOAD, DAG_FILE], { PYTHONPATH: dir, RESTLAKE_HOME: '/srv/restlake', RESTLAKE_DEMO_DIR: '/data/demo' });
    assert.equal(r.code, 0, r.err);
    const dag = JSON.parse(r.out);
    const names = await demoNames();
    assert.equal(dag.dag_id, 'restlake_demo_parallel');
    assert.equal(dag.schedule, null, 'triggered by hand');
    assert.equal(dag.max_active_tasks, names.length, 'all five can run at once');
    const byId = new Map<string, { cmd: string; env: Record<string, string> | null; append_env: boolean; upstream: string[] }>(dag.tasks.map((t: { id: string }) => [t.id, t]));
    assert.deepEqual([...byId.keys()].sort(), ['inspect_tables', 'prepare_demo', ...names.map((n) => `run_${n}`)].sort());
    assert.match(byId.get('prepare_demo')!.cmd, /^cd \/srv\/restlake && node bin\/restlake\.mjs demo prepare --dir \/data\/demo --rows 2000$/);
    for (const n of names) {
      const t = byId.get(`run_${n}`)!;
      assert.deepEqual(t.upstream, ['prepare_demo']);
      assert.equal(t.cmd, `cd /srv/restlake && node bin/restlake.mjs run /data/demo/pipelines/${n}.yaml --json`);
      assert.ok(t.env && t.env.RESTLAKE_DEMO_API && t.env.RESTLAKE_DEMO_TOKEN_URL);
      assert.equal(t.append_env, true, 'secrets come from the worker environment');
    }
    assert.deepEqual(byId.get('inspect_tables')!.upstream, names.map((n) => `run_${n}`).sort());
    const dagText = await readFile(DAG_FILE, 'utf8');
    for (const v of DEMO_SECRET_VARS) assert.ok(!new RegExp(`${v}\\s*[:=]\\s*["']`).test(dagText), `${v} is not set in the DAG`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** An Airflow install to load the DAG with: $RESTLAKE_AIRFLOW_PYTHON, else the one scripts/setup recorded. */
function airflowPython(): string | null {
  if (process.env.RESTLAKE_AIRFLOW_PYTHON) return process.env.RESTLAKE_AIRFLOW_PYTHON;
  try {
    const paths = JSON.parse(readFileSync(join(ROOT, '.tools', 'paths.json'), 'utf8')) as { airflowPython?: string };
    if (paths.airflowPython && existsSync(paths.airflowPython)) return paths.airflowPython;
  } catch {
    // no test tools recorded
  }
  return null;
}

test('the DAG loads into a real Airflow DagBag without import errors (when Airflow is installed)', async (t) => {
  const python = airflowPython();
  if (python === null) {
    // Not a skip: the stub test above checks the structure; this records why the real load did not run.
    t.diagnostic('no Airflow install found (set RESTLAKE_AIRFLOW_PYTHON or add airflowPython to .tools/paths.json); real DagBag load not run');
    return;
  }
  const home = await mkdtemp(join(tmpdir(), 'restlake-airflow-home-'));
  try {
    const script = `
import json, sys
try:
    from airflow.dag_processing.dagbag import DagBag   # Airflow 3
except ImportError:
    from airflow.models import DagBag                  # Airflow 2
bag = DagBag(dag_folder=sys.argv[1], include_examples=False) if 'include_examples' in DagBag.__init__.__code__.co_varnames else DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("restlake_demo_parallel")
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags),
  "tasks": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} if dag else None}))
`;
    const r = spawnSync(python, ['-c', script, join(ORCH, 'airflow', 'dags')], {
      env: { ...process.env, AIRFLOW_HOME: home, PYTHONDONTWRITEBYTECODE: '1', AIRFLOW__CORE__LOAD_EXAMPLES: 'false' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(out.errors, {});
    assert.deepEqual(out.dags, ['restlake_demo_parallel']);
    const names = await demoNames();
    assert.equal(Object.keys(out.tasks).length, names.length + 2);
    for (const n of names) assert.deepEqual(out.tasks[`run_${n}`], ['prepare_demo']);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('docker-compose.yml: the platform services, wired consistently with the code (not run: no Docker here)', async () => {
  const compose = parse(await readFile(join(ORCH, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; command?: string[] | string; environment?: Record<string, string>; volumes?: string[] }>;
  };
  const s = compose.services;
  for (const name of ['spark-master', 'spark-worker-1', 'spark-worker-2', 'minio', 'keycloak', 'mock-api', 'airflow']) assert.ok(s[name], `service ${name}`);
  for (const [name, svc] of Object.entries(s)) {
    if (svc.build) assert.ok(existsSync(join(ORCH, svc.build.context, svc.build.dockerfile)), `${name}: ${svc.build.dockerfile} exists`);
  }
  assert.deepEqual((s['mock-api'].command as string[]).slice(0, 4), ['node', 'bin/restlake.mjs', 'demo', 'serve']);
  for (const v of DEMO_SECRET_VARS) {
    assert.ok(s['mock-api'].environment?.[v], `mock-api gets ${v}`);
    assert.equal(s.airflow.environment?.[v], s['mock-api'].environment?.[v], `airflow and mock-api agree on ${v}`);
  }
  assert.ok(s.airflow.volumes?.some((v) => v.startsWith('./airflow/dags:')), 'the DAG folder is mounted');
  const realm = JSON.parse(await readFile(join(ORCH, 'keycloak', 'restlake-realm.json'), 'utf8'));
  assert.equal(realm.clients[0].clientId, 'restlake-demo');
  assert.equal(realm.clients[0].secret, s['mock-api'].environment?.DEMO_CLIENT_SECRET);
  for (const f of ['spark.Dockerfile', 'airflow.Dockerfile']) assert.match(await readFile(join(ORCH, f), 'utf8'), /node:20/, `${f} brings Node 20`);
});
