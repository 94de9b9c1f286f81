// Every config key as a table (path, type, default, description), generated from the
// JSON Schema, so the configuration docs never drift from what the loader accepts.
import { configJsonSchema } from './json-schema.js';

export interface ConfigKey {
  /** e.g. `request.method`, `middleware[] (type: retry).max_attempts`, `auth (type: basic).password` */
  path: string;
  /** e.g. `string`, `integer`, `"GET" | "POST"`, `duration`, `list of string` */
  type: string;
  /** The default as written in YAML, or '' when there is none (or the key is required). */
  default: string;
  required: boolean;
  description: string;
}

type Schema = Record<string, unknown>;

export function configKeys(): ConfigKey[] {
  const root = configJsonSchema({ references: false });
  const deref = (s: Schema): Schema => {
    if (typeof s.$ref !== 'string') return s;
    const target = s.$ref.replace(/^#\/?/, '').split('/').filter(Boolean).reduce<unknown>((x, k) => (x as Schema)[k], root) as Schema;
    const { $ref: _ref, ...rest } = s;
    return { ...deref(target), ...rest };
  };
  const out: ConfigKey[] = [];

  const visitObject = (obj: Schema, prefix: string) => {
    const props = (obj.properties ?? {}) as Record<string, Schema>;
    const required = new Set((obj.required ?? []) as string[]);
    for (const [key, raw] of Object.entries(props)) {
      const s = deref(raw);
      const path = prefix ? `${prefix}.${key}` : key;
      if (key === 'type' && prefix.includes('(type: ')) continue; // the variant label already says it
      out.push({
        path,
        type: typeName(raw, deref),
        default: 'default' in s && !required.has(key) ? JSON.stringify(s.default) : '',
        required: required.has(key),
        description: typeof s.description === 'string' ? s.description : '',
      });
      visitChildren(s, path);
    }
  };

  const visitChildren = (s: Schema, path: string) => {
    for (const variant of variants(s, deref)) {
      const v = deref(variant);
      if (v.type === 'object' && v.properties) {
        const tag = ((v.properties as Record<string, Schema>).type ?? {}).const;
        visitObject(v, typeof tag === 'string' ? `${path} (type: ${tag})` : path);
      } else if (v.type === 'object' && typeof v.additionalProperties === 'object') {
        // A map of user-chosen names (response.extract): document the shape of one entry.
        for (const entry of variants(deref(v.additionalProperties as Schema), deref)) {
          const e = deref(entry);
          if (e.type === 'object' && e.properties) visitObject(e, `${path}.<name>`);
        }
      } else if (v.type === 'array' && v.items) {
        for (const item of variants(deref(v.items as Schema), deref)) {
          const it = deref(item);
          if (it.type !== 'object' || !it.properties) continue;
          const tag = ((it.properties as Record<string, Schema>).type ?? {}).const;
          visitObject(it, typeof tag === 'string' ? `${path}[] (type: ${tag})` : `${path}[]`);
        }
      }
    }
  };

  visitObject(root, '');
  return out;
}

/** The keys as a Markdown table, for docs/configuration.md. */
export function configReferenceMarkdown(): string {
  const esc = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = configKeys().map(
    (k) => `| \`${esc(k.path)}\` | ${esc(k.type)} | ${k.required ? '**required**' : k.default ? `\`${esc(k.default)}\`` : ''} | ${esc(k.description)} |`,
  );
  return ['| key | type | default | description |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}

/** The alternatives of an anyOf/oneOf (flattened), or the schema itself. */
function variants(s: Schema, deref: (s: Schema) => Schema): Schema[] {
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (!alts) return [s];
  // A $ref alternative stays unexpanded: it may be the recursive definition itself.
  return alts.flatMap((a) => (typeof a.$ref === 'string' ? [a] : variants(a, deref)));
}

// `seen` holds the $refs being expanded: a recursive definition (the JSON value of a
// json body) is named once instead of expanded forever.
function typeName(raw: Schema, deref: (s: Schema) => Schema, seen: ReadonlySet<string> = new Set()): string {
  if (typeof raw.$ref === 'string') {
    if (seen.has(raw.$ref)) return 'any JSON value';
    seen = new Set([...seen, raw.$ref]);
  }
  const s = deref(raw);
  const alts = variants(s, deref);
  if (alts.length > 1) {
    const names = [...new Set(alts.map((a) => typeName(a, deref, seen)))];
    // Only the JSON value type refers to itself, so a recursive alternative means it.
    if (names.some((n) => n.includes('any JSON value'))) return 'any JSON value';
    // number-or-pattern-string is how durations and sizes look: name them.
    const pattern = alts.find((a) => typeof a.pattern === 'string')?.pattern as string | undefined;
    if (pattern?.includes('ms|s|m|h')) return 'duration (250ms, 30s, 5m, 1h, or seconds)' + (names.includes('null') ? ' | null' : '');
    if (pattern?.includes('[kKmMgGtT]')) return 'size (10MB, 512KiB, or bytes)';
    return names.join(' | ');
  }
  if ('const' in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (s.type === 'array') return `list of ${s.items ? typeName(s.items as Schema, deref, seen) : 'any'}`;
  if (s.type === 'object') return s.properties ? 'mapping' : 'mapping of name to value';
  if (Array.isArray(s.type)) return s.type.join(' | ');
  if (typeof s.type === 'string') return s.type;
  return 'any JSON value';
}
