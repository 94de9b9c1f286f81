import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `restlake/<package version>`, the engineInfo of our commits. */
export const ENGINE_INFO = (() => {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return `restlake/${pkg.version ?? '0.0.0'}`;
  } catch {
    return 'restlake/0.0.0';
  }
})();
