// Ending a server process the tests started: SIGTERM, then SIGKILL if it has not
// exited within the grace period.
import type { ChildProcess } from 'node:child_process';

export async function stopProcess(p: ChildProcess, graceMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
