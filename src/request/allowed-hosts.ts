// `request.allowed_hosts`, checked on every rendered URL after WHATWG parsing (so the
// host compared is the one undici will connect to: lower-cased, IDNA/punycode,
// IPv6 in brackets). Entries: "api.example.com" (any port), "api.example.com:8443"
// (that port only), "*.example.com" (any subdomain, not example.com itself).
import { RestlakeError } from '../errors.js';

export interface HostPolicy {
  allows(url: URL): boolean;
  /** For messages: the configured list. */
  readonly described: string;
}

const ENTRY = /^(\[[0-9a-fA-F:.]+\]|[^:/?#@\s]+)(?::(\d{1,5}))?$/;

export function compileHostPolicy(entries: readonly string[]): HostPolicy {
  const anyPort = new Set<string>();
  const withPort = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    const wildcard = entry.startsWith('*.');
    const m = ENTRY.exec(wildcard ? entry.slice(2) : entry);
    if (!m) throw new RestlakeError('RESTLAKE_ALLOWED_HOSTS', `request.allowed_hosts: "${raw}" is not a host name, host:port or *.domain`);
    let host: string;
    try {
      host = new URL(`http://${m[1]}/`).hostname;
    } catch {
      throw new RestlakeError('RESTLAKE_ALLOWED_HOSTS', `request.allowed_hosts: "${raw}" is not a valid host name`);
    }
    if (wildcard) suffixes.push('.' + host);
    else if (m[2] !== undefined) withPort.add(`${host}:${Number(m[2])}`);
    else anyPort.add(host);
  }
  return {
    described: entries.join(', '),
    allows(url: URL): boolean {
      const host = url.hostname;
      if (anyPort.has(host)) return true;
      if (withPort.size > 0) {
        const port = url.port || (url.protocol === 'https:' ? '443' : '80');
        if (withPort.has(`${host}:${port}`)) return true;
      }
      for (let i = 0; i < suffixes.length; i++) if (host.endsWith(suffixes[i])) return true;
      return false;
    },
  };
}
