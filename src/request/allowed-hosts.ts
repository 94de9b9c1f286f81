// `request.allowed_hosts`, checked on every rendered URL after WHATWG parsing (so the
// host compared is the one undici will connect to: lower-cased, IDNA/punycode,
// IPv6 in brackets). Entries: "api.example.com" (any port), "api.example.com:8443"
// (that port only), "*.example.com" (any subdomain, not example.com itself).
import type { RequestConfig } from '../config/types.js';
import { parseTemplate } from '../config/template-syntax.js';
import { RestlakeError, RowError } from '../errors.js';

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

/**
 * Why a parsed URL may not be sent under `policy`: its scheme is not http(s), or its host
 * is not allowed; null when it may be sent. Rendered URLs (build.ts) and URLs a middleware
 * rewrote (transport-handler.ts) are held to the same rule, each with its own message.
 */
export function refusalOf(url: URL, policy: HostPolicy): 'scheme' | 'host' | null {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'scheme';
  return policy.allows(url) ? null : 'host';
}

export class HostNotAllowedError extends RowError {
  constructor(message: string) {
    super('host_not_allowed', 'RESTLAKE_HOST_NOT_ALLOWED', message);
  }
}

/** The policy of a request config: its allowed_hosts, or the literal host of its URL when none are listed. */
export function hostPolicyOf(req: Pick<RequestConfig, 'url' | 'allowed_hosts'>): HostPolicy {
  return compileHostPolicy(req.allowed_hosts.length > 0 ? req.allowed_hosts : literalHost(req.url));
}

/** allowed_hosts left empty: the literal host of the URL template (config normally resolves this). */
function literalHost(url: string): string[] {
  const parts = parseTemplate(url);
  const first = parts[0];
  const text = first && first.kind === 'text' ? first.text : '';
  // The host is literal when "/", "?" or "#" follows it in the leading text (or the URL is all text).
  const m = (parts.length === 1 ? /^https?:\/\/([^/?#]+)(?:[/?#]|$)/i : /^https?:\/\/([^/?#]+)[/?#]/i).exec(text);
  if (!m || m[1].includes('@')) {
    throw new RestlakeError('RESTLAKE_ALLOWED_HOSTS', 'request.allowed_hosts is empty and the host of request.url is not literal: list the hosts a row may call');
  }
  return [m[1]];
}
