// `${env:NAME}`, `${env:NAME:-fallback}` and `${file:path}` in any string value of the
// raw config, replaced before validation so the schema sees the real values.
// `$${` is a literal `${`. Anything else inside `${…}` is an error (a typo such as
// `${CLIENT_SECRET}` would otherwise be sent to an API verbatim).
// Messages name the key path and the variable or file, never the resolved value.
import { readFile } from 'node:fs/promises';
import type { PathSegment } from './key-path.js';
import { resolvePath } from './schema-parts.js';

export interface Reference {
  path: PathSegment[];
  kind: 'env' | 'file';
  /** The variable name or the file path as written. */
  name: string;
  /** What it resolved to (kept for secret redaction, never printed). */
  value: string;
}

export interface InterpolationIssue { path: PathSegment[]; message: string }

export interface InterpolationResult {
  value: unknown;
  references: Reference[];
  issues: InterpolationIssue[];
}

export interface InterpolationContext {
  env: NodeJS.ProcessEnv;
  baseDir: string;
}

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const FILE_REF = /^file:(.+)$/s;

/** Returns a deep copy of `tree` with every reference replaced. */
export async function interpolate(tree: unknown, ctx: InterpolationContext): Promise<InterpolationResult> {
  const references: Reference[] = [];
  const issues: InterpolationIssue[] = [];
  const fileCache = new Map<string, Promise<string>>();

  async function readRef(file: string): Promise<string> {
    const abs = resolvePath(ctx.baseDir, file);
    let p = fileCache.get(abs);
    if (!p) {
      // Secret files usually end with one newline that is not part of the secret.
      p = readFile(abs, 'utf8').then((t) => t.replace(/\r?\n$/, ''));
      fileCache.set(abs, p);
    }
    return p;
  }

  async function str(s: string, path: PathSegment[]): Promise<string> {
    if (!s.includes('${')) return s;
    let out = '';
    let i = 0;
    while (i < s.length) {
      const at = s.indexOf('${', i);
      if (at < 0) {
        out += s.slice(i);
        break;
      }
      if (at > 0 && s[at - 1] === '$') {
        // `$${` → literal `${`: keep the text before the extra `$`, then `${`.
        out += s.slice(i, at - 1) + '${';
        i = at + 2;
        continue;
      }
      out += s.slice(i, at);
      const close = s.indexOf('}', at + 2);
      if (close < 0) {
        issues.push({ path, message: `"\${" is never closed with "}" (write "$\${" for a literal "\${")` });
        return s;
      }
      const inner = s.slice(at + 2, close);
      let m: RegExpExecArray | null;
      if ((m = ENV_REF.exec(inner))) {
        const [, name, fallback] = m;
        const v = ctx.env[name];
        if (v === undefined && fallback === undefined) {
          issues.push({ path, message: `environment variable ${name} is not set (referenced as \${env:${name}})` });
        } else {
          // As in the shell's ${X:-y}: the fallback also stands in for a variable set to
          // nothing (an empty line in a .env file), which is rarely meant as a value.
          const value = (v === undefined || v === '') && fallback !== undefined ? fallback : (v ?? '');
          references.push({ path, kind: 'env', name, value });
          out += value;
        }
      } else if ((m = FILE_REF.exec(inner))) {
        const file = m[1].trim();
        try {
          const value = await readRef(file);
          references.push({ path, kind: 'file', name: file, value });
          out += value;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? 'error';
          const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
          issues.push({ path, message: `cannot read \${file:${file}}: ${why} (${resolvePath(ctx.baseDir, file)})` });
        }
      } else {
        const hint = /^[A-Za-z_][A-Za-z0-9_]*$/.test(inner) ? `; did you mean "\${env:${inner}}"?` : '';
        issues.push({
          path,
          message: `unknown reference "\${${inner}}": use \${env:NAME} or \${file:path}, or "$\${" for a literal "\${"${hint}`,
        });
      }
      i = close + 1;
    }
    return out;
  }

  async function walk(v: unknown, path: PathSegment[]): Promise<unknown> {
    if (typeof v === 'string') return str(v, path);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) out.push(await walk(v[i], [...path, i]));
      return out;
    }
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      // defineProperty: a "__proto__" key stays a plain key, never a prototype.
      for (const [k, child] of Object.entries(v)) {
        Object.defineProperty(out, k, { value: await walk(child, [...path, k]), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  }

  const value = await walk(tree, []);
  return { value, references, issues };
}
