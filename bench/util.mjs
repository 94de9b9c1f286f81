// Measuring a contender: wall time, CPU seconds of its whole process tree, and the
// peak of the summed RSS of that tree. CPU comes from this process's cutime/cstime
// (children that ended and were waited for, with their descendants), so it is exact;
// RSS is sampled from /proc every 50 ms.
import { createServer, connect } from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((r) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const TICK = 100; // USER_HZ on Linux
function childCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime is field 16, cstime field 17
  return (Number(fields[13]) + Number(fields[14])) / TICK;
}

function treeRssBytes(rootPid) {
  const parent = new Map();
  const rss = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(f[1]));
      rss.set(Number(name), Number(f[21]) * 4096);
    } catch { /* the process ended */ }
  }
  let total = 0;
  for (const [pid, bytes] of rss) {
    let p = pid;
    while (p && p !== rootPid && p !== 1) p = parent.get(p);
    if (p === rootPid) total += bytes;
  }
  return total;
}

/** Runs a command to completion and measures it. Rejects on a non-zero exit. */
export async function measure(cmd, args, { env, cwd } = {}) {
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err = (err + d).slice(-20000)));
  let peak = 0;
  const sampler = setInterval(() => {
    try { peak = Math.max(peak, treeRssBytes(child.pid)); } catch { /* ignore */ }
  }, 50);
  const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
  clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = childCpuSeconds() - cpu0;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}\n${err.slice(-4000)}`);
  return { seconds, cpuSeconds, peakRssBytes: peak, stdout: out, stderr: err };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
