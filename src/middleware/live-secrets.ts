// Secrets a worker learns while it runs: the credentials its auth middleware sends
// (the Basic header value, a bearer token, each OAuth2 access token as the driver hands
// it out). They are not in the config's secrets (OAuth2 tokens do not exist yet when
// the job is made; a Basic header is derived from them), yet an API that echoes the
// request would put them in response_body. Auth registers them here; every redactor
// built from the same MiddlewareRuntime (the row processor's, logging's) sees them.
//
// Bounded: a long run rotates OAuth2 tokens, and each secret kept costs every later
// row a few substring searches. The newest MAX_LIVE are kept; an older one is no
// longer sent, so responses no longer echo it.
import { MIN_SECRET, secretForms } from './redact.js';
import type { MiddlewareRuntime } from './types.js';

export const MAX_LIVE = 8;

export class LiveSecrets {
  /** Bumped when the set changes; a redactor rebuilds its list when it sees a new value. */
  version = 0;
  /** Secret → its forms, oldest first. */
  private readonly entries = new Map<string, readonly string[]>();

  add(secret: string): void {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET) return;
    const known = this.entries.get(secret);
    if (known) {
      // Sent again: the newest now (the set's contents are unchanged, so no new version).
      this.entries.delete(secret);
      this.entries.set(secret, known);
      return;
    }
    this.entries.set(secret, secretForms(secret));
    if (this.entries.size > MAX_LIVE) this.entries.delete(this.entries.keys().next().value!);
    this.version++;
  }

  /** Every form of every secret kept (unordered, may repeat). */
  forms(): string[] {
    const out: string[] = [];
    for (const f of this.entries.values()) out.push(...f);
    return out;
  }
}

// One set per runtime, created by whichever part of the worker asks first (the auth
// factory, logging, the row processor): a worker builds them all from one runtime.
const byRuntime = new WeakMap<MiddlewareRuntime, LiveSecrets>();

export function liveSecretsOf(runtime: MiddlewareRuntime): LiveSecrets {
  let live = byRuntime.get(runtime);
  if (!live) byRuntime.set(runtime, (live = new LiveSecrets()));
  return live;
}
