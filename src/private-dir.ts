// Directories restlake keeps things in between runs under a shared temporary directory
// (the S3 object cache, Node's compile cache): one per user, made 0700, and used only if
// it is still ours. Another local user could otherwise read what is cached there
// (response bodies) or create the directory first and plant entries that we would trust.
// No imports beyond node: bin/restlake.mjs loads this before anything else.
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** `<tmpdir>/<name>-<uid>` (the user name where there are no uids, as on Windows). */
export function perUserTempDir(name: string): string {
  const uid = process.getuid?.();
  return join(tmpdir(), `${name}-${uid ?? safeUserName()}`);
}

function safeUserName(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_') || 'user';
  } catch {
    return 'user';
  }
}

/**
 * Creates `dir` (and missing parents) with mode 0700 if it does not exist, then checks it:
 * a real directory (not a symlink), owned by this process's user, not writable by group or
 * others. Returns null when it is fit for private use, else why not, e.g.
 * "is owned by uid 1001, not by us (uid 1000)".
 */
export function privateDirProblem(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return `cannot be created (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (st.isSymbolicLink()) return 'is a symbolic link, not a directory';
  if (!st.isDirectory()) return 'is not a directory';
  const uid = process.getuid?.();
  // Windows has no uids; its temporary directory is per user already.
  if (uid === undefined) return null;
  if (st.uid !== uid) return `is owned by uid ${st.uid}, not by us (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`;
  return null;
}
