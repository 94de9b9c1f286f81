// The oldest Node restlake runs on: undici 7 needs 20.18.1. The CLI checks this before
// it loads anything else, so an older Node gets one line saying what to install
// instead of a stack trace from deep inside a dependency. No imports: this file must
// load on any Node that can run an ES module.

export const MIN_NODE = '20.18.1';

/** Why `version` (as in process.versions.node) cannot run restlake, or null when it can. */
export function nodeTooOld(version: string): string | null {
  const have = version.split('.').map((p) => Number.parseInt(p, 10));
  const need = MIN_NODE.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    if (Number.isNaN(h) || h > need[i]!) return null;
    if (h < need[i]!) return `restlake needs Node.js ${MIN_NODE} or newer; this is Node.js ${version}`;
  }
  return null;
}
