// The dispatcher refills a full worker in batches: after the first fill, rows reach a
// worker only once a quarter of what it may hold has been answered, so many rows go in
// one pipe write instead of one write (and one wake-up of the worker) per answer. And
// finish() resolves once every row has its result, not once the workers have exited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Dispatcher } from './dispatch.js';
import { tempDir, waitFor } from './e2e-support.js';

// What both worker scripts share: each stdin chunk split into rows (`onRows`), and a
// result line with the head the driver parses (`answer`).
const WORKER_PRELUDE = `let tail = '';
process.stdin.setEncoding('utf8');
const onRows = (fn) => process.stdin.on('data', (chunk) => {
  const lines = (tail + chunk).split('\\n');
  tail = lines.pop();
  fn(lines.map((l) => JSON.parse(l)._request_id));
});
const answer = (id) => process.stdout.write('{"request_id":"' + id + '","success":true,"status_code":200,"error_class":null,"duration_ms":1}\\n');
`;

// Answers the oldest row it holds every 3 ms and reports, for every chunk of stdin, how
// many rows it held when the chunk came and how many the chunk brought.
const SLOW_WORKER = `${WORKER_PRELUDE}
let held = [];
let ended = false;
onRows((ids) => {
  process.stderr.write('chunk held=' + held.length + ' rows=' + ids.length + '\\n');
  held.push(...ids);
});
process.stdin.on('end', () => { ended = true; });
const timer = setInterval(() => {
  const id = held.shift();
  if (id !== undefined) answer(id);
  else if (ended) clearInterval(timer);
}, 3);
`;

/** Sends rows `row-0` … `row-<n-1>` the way the local engine does: wait for room when every worker is full. */
async function sendRows(dispatcher: Dispatcher, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = `row-${i}`;
    while (!dispatcher.trySend(id, JSON.stringify({ i, _request_id: id }))) await dispatcher.room();
  }
}

test('a full worker gets rows again only once a quarter of them are answered, then several at once', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  try {
    const script = join(tmp.dir, 'slow-worker.mjs');
    await writeFile(script, SLOW_WORKER);
    const chunks: Array<{ held: number; rows: number }> = [];
    const answered = new Set<string>();
    const perWorker = 8;
    const dispatcher = new Dispatcher({
      workers: 1,
      perWorker,
      script,
      jobPath: join(tmp.dir, 'unused.json'),
      onResult: (_line, head) => answered.add(head.requestId),
      onAbandoned: (id) => assert.fail(`row ${id} abandoned`),
      log: (_level, message) => {
        const m = /chunk held=(\d+) rows=(\d+)$/.exec(message);
        if (m) chunks.push({ held: Number(m[1]), rows: Number(m[2]) });
        else assert.fail(`unexpected worker log: ${message}`);
      },
    });
    const rows = 60;
    await sendRows(dispatcher, rows);
    await dispatcher.finish();
    // The worker logs a chunk on stderr, results go on stdout: the last chunk's line may
    // come after its rows' results, so wait for the worker's exit (its stderr read to the end).
    await dispatcher.exited();

    assert.equal(answered.size, rows, 'every row answered once');
    assert.equal(chunks.reduce((n, c) => n + c.rows, 0), rows, 'every row sent once');
    assert.deepEqual(chunks[0], { held: 0, rows: perWorker }, 'the first write fills the worker');
    // 8 - 8/4: a refill comes when the worker holds at most 6 rows; one row per answer
    // (the old way) would come while it still held 7.
    for (const c of chunks.slice(1)) assert.ok(c.held <= 6 && c.held + c.rows <= perWorker, `refill at ${JSON.stringify(c)}`);
    assert.ok(chunks.slice(1).some((c) => c.rows >= 2), `refills carry several rows: ${JSON.stringify(chunks)}`);
  } finally {
    await tmp.cleanup();
  }
});

// Answers every row at once; once its input ends it lingers, as a worker does while V8
// finishes compiling, and says so before it exits.
const LINGERING_WORKER = `${WORKER_PRELUDE}
onRows((ids) => ids.forEach(answer));
process.stdin.on('end', () => setTimeout(() => process.stderr.write('exiting\\n'), 1500));
`;

test('finish resolves once every row has its result, without waiting for the workers to exit; exited waits for that', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  try {
    const script = join(tmp.dir, 'lingering-worker.mjs');
    await writeFile(script, LINGERING_WORKER);
    const logs: string[] = [];
    let answered = 0;
    const dispatcher = new Dispatcher({
      workers: 2,
      perWorker: 4,
      script,
      jobPath: join(tmp.dir, 'unused.json'),
      onResult: () => answered++,
      onAbandoned: (id) => assert.fail(`row ${id} abandoned`),
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    await sendRows(dispatcher, 20);
    await dispatcher.finish();
    assert.equal(answered, 20);
    assert.equal(dispatcher.inFlight, 0);
    assert.deepEqual(logs, [], 'no worker has exited yet');
    assert.equal(dispatcher.workerPids.length, 2);
    await dispatcher.exited();
    assert.deepEqual([...logs].sort(), ['info: worker 0: exiting', 'info: worker 1: exiting']);
    assert.equal(dispatcher.workerPids.length, 0);
  } finally {
    await tmp.cleanup();
  }
});

// Answers every row, and exits (code 1) after its second answer: an OOM kill now and then.
const SHORT_LIVED_WORKER = `${WORKER_PRELUDE}
let n = 0;
onRows((ids) => ids.forEach((id) => { answer(id); if (++n === 2) setTimeout(() => process.exit(1), 10); }));
`;

/** Sends `n` rows one at a time, each once the one before has its result and `gapMs` passed. */
async function sendSpaced(dispatcher: Dispatcher, answered: Set<string>, n: number, gapMs: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = `row-${i}`;
    while (!dispatcher.trySend(id, JSON.stringify({ i, _request_id: id }))) await dispatcher.room();
    while (!answered.has(id)) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

test('worker deaths end the run only when they come in a burst: the restart budget counts within a time window', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  try {
    const script = join(tmp.dir, 'short-lived-worker.mjs');
    await writeFile(script, SHORT_LIVED_WORKER);
    const run = async (restartWindowMs: number): Promise<{ answered: number; error: string | null }> => {
      const answered = new Set<string>();
      const dispatcher = new Dispatcher({
        workers: 1,
        perWorker: 4,
        script,
        jobPath: join(tmp.dir, 'unused.json'),
        onResult: (_line, head) => answered.add(head.requestId),
        onAbandoned: (id) => assert.fail(`row ${id} abandoned`),
        log: () => {},
        restartWindowMs,
      });
      try {
        // 12 rows: 6 deaths, one every ~2 rows, each more than 200 ms after the one before.
        await sendSpaced(dispatcher, answered, 12, 250);
        await dispatcher.finish();
        return { answered: answered.size, error: null };
      } catch (e) {
        dispatcher.killAll();
        return { answered: answered.size, error: (e as Error).message };
      }
    };
    // One worker may be restarted 3 times per window: 6 deaths spread out are survived...
    assert.deepEqual(await run(200), { answered: 12, error: null });
    // ...while within one window the fourth death ends the run.
    const burst = await run(60_000);
    assert.match(burst.error ?? '', /^worker processes keep dying \(3 restarts in 60 s\)/);
  } finally {
    await tmp.cleanup();
  }
});

// The first worker started takes 8 rows and dies without answering (an OOM kill); the
// ones after it answer everything. Each reports how many rows every stdin chunk brings.
const DIES_ONCE_WORKER = `import { existsSync, writeFileSync } from 'node:fs';
${WORKER_PRELUDE}
const first = !existsSync(process.env.MARKER);
if (first) writeFileSync(process.env.MARKER, '');
let got = 0;
onRows((ids) => {
  process.stderr.write((first ? 'first' : 'next') + ' chunk rows=' + ids.length + '\\n');
  if (!first) return ids.forEach(answer);
  got += ids.length;
  if (got >= 8) process.exit(1);
});
`;

test("a dead worker's rows go to the next worker in bulk after a first death, not one at a time", { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  try {
    const script = join(tmp.dir, 'dies-once.mjs');
    await writeFile(script, DIES_ONCE_WORKER);
    const answered = new Set<string>();
    const chunks: string[] = [];
    const dispatcher = new Dispatcher({
      workers: 1,
      perWorker: 8,
      script,
      jobPath: join(tmp.dir, 'unused.json'),
      env: { MARKER: join(tmp.dir, 'marker') },
      onResult: (_line, head) => answered.add(head.requestId),
      onAbandoned: (id) => assert.fail(`row ${id} abandoned`),
      log: (_level, message) => {
        const m = /^worker \d+: (first|next) chunk rows=(\d+)$/.exec(message);
        if (m) chunks.push(`${m[1]}:${m[2]}`);
      },
    });
    await sendRows(dispatcher, 8);
    await dispatcher.finish();
    assert.equal(answered.size, 8);
    assert.equal(dispatcher.restarts, 1);
    // The 8 orphans reach the new worker in one write; isolated, they took 8 writes of 1.
    assert.deepEqual(chunks, ['first:8', 'next:8']);
  } finally {
    await tmp.cleanup();
  }
});

// Answers nothing, ignores the drain signal, and stays (a middleware that never settles
// and ignores the abort, a stopped process).
const HUNG_WORKER = `${WORKER_PRELUDE}
process.on('SIGUSR2', () => {});
onRows(() => {});
setInterval(() => {}, 1000);
process.stderr.write('ready\\n');
`;

test('a stop does not wait forever for a worker that does not stop: after the drain deadline it is killed, its rows left unanswered', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  try {
    const script = join(tmp.dir, 'hung-worker.mjs');
    await writeFile(script, HUNG_WORKER);
    const logs: string[] = [];
    const dispatcher = new Dispatcher({
      workers: 2,
      perWorker: 4,
      script,
      jobPath: join(tmp.dir, 'unused.json'),
      onResult: () => assert.fail('no result expected'),
      onAbandoned: (id) => assert.fail(`row ${id} abandoned`),
      log: (level, message) => logs.push(`${level}: ${message}`),
      drainDeadlineMs: 300,
    });
    for (let i = 0; i < 6; i++) assert.ok(dispatcher.trySend(`row-${i}`, JSON.stringify({ _request_id: `row-${i}` })));
    // Both have their SIGUSR2 handler (before it, the signal would simply end them).
    await waitFor(() => logs.filter((l) => / ready$/.test(l)).length === 2, 20_000, 'both workers to start');
    const t0 = Date.now();
    dispatcher.drain();
    const finished = await Promise.race([dispatcher.finish().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    assert.ok(finished, 'finish resolved');
    assert.ok(Date.now() - t0 < 5_000, `stopped after ${Date.now() - t0} ms`);
    await dispatcher.exited();
    assert.equal(dispatcher.workerPids.length, 0);
    assert.equal(logs.filter((l) => /^warn: worker \d \(pid \d+\) did not stop within 0 s of the stop; killed it, its 3 unanswered rows are sent again by the next run$/.test(l)).length, 2, logs.join('\n'));
  } finally {
    await tmp.cleanup();
  }
});

test('killAll mid-run (a spool that cannot be written): finish resolves even with rows waiting for a worker, which stay unsent', { timeout: 30_000 }, async () => {
  const tmp = await tempDir();
  try {
    const script = join(tmp.dir, 'holds.mjs');
    await writeFile(script, 'process.stdin.resume(); setInterval(() => {}, 1000);\n'); // holds rows, never answers
    const dispatcher = new Dispatcher({
      workers: 1,
      perWorker: 2,
      script,
      jobPath: join(tmp.dir, 'unused.json'),
      onResult: () => assert.fail('no result expected'),
      onAbandoned: (id) => assert.fail(`row ${id} abandoned`),
      log: () => {},
    });
    assert.ok(dispatcher.trySend('a', '{"_request_id":"a"}'));
    assert.ok(dispatcher.trySend('b', '{"_request_id":"b"}'));
    // What a row looks like after a second worker died holding it: waiting for an idle worker.
    (dispatcher as unknown as { retry: [string, string][] }).retry.push(['c', '{"_request_id":"c"}']);
    dispatcher.killAll();
    const settled = await Promise.race([dispatcher.finish().then(() => 'finished'), new Promise((r) => setTimeout(() => r('pending'), 5000))]);
    assert.equal(settled, 'finished');
    assert.equal(dispatcher.inFlight, 0);
  } finally {
    await tmp.cleanup();
  }
});
