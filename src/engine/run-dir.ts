// The local engine's run directory ($TMPDIR/restlake-run-*, 0700): the job file (with the
// pipeline's basic/bearer credentials) and the spooled responses. A run removes its own
// at exit, but a driver killed with SIGKILL (or a lost machine) cannot; so each run
// directory names its owner (pid, the process's start time, host), and every run first
// removes the run directories of this user whose owner is gone. A live run's directory,
// one of another host sharing the temporary directory, and one without an owner file
// (being created, or from an older restlake) are never touched.
import { readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

export const RUN_DIR_PREFIX = 'restlake-run-';
const OWNER_FILE = 'owner.json';

export interface RunDirOwner {
  pid: number;
  /** The process's start time (Linux: clock ticks since boot, /proc/<pid>/stat), telling a reused pid apart; null elsewhere. */
  start: string | null;
  host: string;
}

/** Creates a run directory (0700) under `base` and records this process as its owner. */
export async function createRunDir(base = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(base, RUN_DIR_PREFIX));
  const owner: RunDirOwner = { pid: process.pid, start: processStart(process.pid), host: hostname() };
  await writeFile(join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
  return dir;
}

/** Removes the run directories under `base` left by runs of this user that are gone; returns their paths. */
export async function removeStaleRunDirs(base = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  const uid = process.getuid?.();
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = join(base, name);
    const st = await lstat(dir).catch(() => null);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    const owner = parseOwner(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => null));
    if (!owner || owner.host !== hostname() || ownerAlive(owner)) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    removed.push(dir);
  }
  return removed;
}

function parseOwner(text: string | null): RunDirOwner | null {
  if (text === null) return null;
  try {
    const o = JSON.parse(text) as Partial<RunDirOwner>;
    if (!Number.isInteger(o.pid) || (o.pid as number) <= 0 || typeof o.host !== 'string') return null;
    return { pid: o.pid as number, start: typeof o.start === 'string' ? o.start : null, host: o.host };
  } catch {
    return null;
  }
}

/** Whether the process that owns a run directory still runs: its pid exists and, where known, started when it did. */
export function ownerAlive(owner: RunDirOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: a process of another user has the pid; the owner's start time tells below.
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (owner.start === null) return true;
  const now = processStart(owner.pid);
  // No way to tell (no /proc): count it as alive.
  return now === null || now === owner.start;
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
