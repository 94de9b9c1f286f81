// The literal host of a URL template, which becomes the default allowed_hosts: a row
// value must never be able to redirect a request to another host, so the host counts
// as literal only if the template cannot change it.
import { parseTemplate, TemplateSyntaxError } from './template-syntax.js';

export type LiteralHost =
  | { kind: 'literal'; host: string }
  | { kind: 'templated' }
  | { kind: 'bad'; message: string }
  /** The template itself does not parse; that is reported on its own. */
  | { kind: 'unparsable' };

const CREDENTIALS = 'must not hold credentials (user:password@ before the host); put them in auth (type: basic)';

export function literalHost(url: string): LiteralHost {
  let parts;
  try {
    parts = parseTemplate(url);
  } catch (e) {
    if (e instanceof TemplateSyntaxError) return { kind: 'unparsable' };
    throw e;
  }
  const first = parts[0];
  const prefix = first?.kind === 'text' ? first.text : '';
  const whole = parts.length === 1 && first?.kind === 'text';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(prefix);
  if (!scheme) {
    // `{{ base_url }}/x` leaves even the scheme to the row: only allowed_hosts can bound it.
    if (!whole && /^[a-z0-9+.-]*$/i.test(prefix)) return { kind: 'templated' };
    return { kind: 'bad', message: 'must be an absolute http:// or https:// URL' };
  }
  if (!/^https?$/i.test(scheme[1])) return { kind: 'bad', message: `must use http:// or https://, not ${scheme[1]}://` };
  const rest = prefix.slice(scheme[0].length);
  const end = rest.search(/[/?#]/);
  // Credentials would land in the sink's url column and in logs, and the per-row check
  // refuses them anyway; the message never repeats the URL, which holds the password.
  if ((end < 0 ? rest : rest.slice(0, end)).includes('@')) return { kind: 'bad', message: CREDENTIALS };
  // The authority ends inside literal text (a "/", "?" or "#" follows) or the URL has no template at all.
  if (end < 0 && !whole) return { kind: 'templated' };
  const authority = end < 0 ? rest : rest.slice(0, end);
  if (!authority) return { kind: 'bad', message: 'has no host' };
  try {
    const host = new URL(`http://${authority}/`).hostname.toLowerCase();
    if (!host) return { kind: 'bad', message: 'has no host' };
    return { kind: 'literal', host };
  } catch {
    return { kind: 'bad', message: `has an invalid host "${authority}"` };
  }
}

/**
 * Whether a URL's hostname is covered by `allowed` (entries as normalised by the schema):
 * `*.example.com` matches subdomains; a `host:port` entry counts for its host here (the
 * request layer checks the port on every rendered URL).
 */
export function hostAllowed(hostname: string, allowed: readonly string[]): boolean {
  const h = hostname.toLowerCase();
  return allowed.some((entry) => {
    const a = entry.startsWith('[') ? entry.replace(/(\]):\d+$/, '$1') : entry.replace(/:\d+$/, '');
    return a.startsWith('*.') ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : a === h;
  });
}
