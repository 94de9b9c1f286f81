// zod issues → the config issues a person reads: one per problem, at the exact key
// path, in plain words ("is required", "unknown key "metod" (did you mean "method"?)").
// Messages the schema wrote itself are kept; zod's generic ones are reworded here.
import type { z } from 'zod';
import { KNOWN_KEYS_MARK, show } from './schema-parts.js';
import { didYouMean } from './suggest.js';

export interface RawIssue { path: PropertyKey[]; message: string }

type ZodIssue = z.core.$ZodIssue & { input?: unknown; errors?: ZodIssue[][]; note?: string; options?: unknown[] };

/** zod's own English messages all start like this; ours never do. */
const GENERIC = /^(Invalid|Too small|Too big|Unrecognized key|Expected)/;

export function fromZodIssues(issues: readonly ZodIssue[], prefix: PropertyKey[] = []): RawIssue[] {
  const out: RawIssue[] = [];
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      const known = knownKeys(iss.message);
      for (const key of iss.keys) {
        const hint = known ? didYouMean(key, known) || `; expected one of ${known.join(', ')}` : '';
        out.push({ path: [...path, key], message: `unknown key "${key}"${hint}` });
      }
      continue;
    }
    // A union with its own message (set by the schema) explains itself best.
    if (iss.code === 'invalid_union' && iss.errors && iss.errors.length > 0 && GENERIC.test(iss.message)) {
      // Report the branch the value was evidently meant for (its type matches), if there is one.
      const meant = iss.errors.filter((branch) => !branch.some((b) => b.path.length === 0 && typeMismatch(b, iss.input)));
      if (meant.length === 1) {
        out.push(...fromZodIssues(meant[0], path));
        continue;
      }
    }
    if (iss.code === 'invalid_key') {
      // A bad map key: the key schema's own message says what is wrong with it.
      const inner = iss.issues.find((i) => !GENERIC.test(i.message));
      out.push({ path, message: inner ? inner.message : `${show(iss.path[iss.path.length - 1])} is not a valid key here` });
      continue;
    }
    out.push({ path, message: GENERIC.test(iss.message) ? reword(iss) : iss.message });
  }
  return out;
}

function knownKeys(message: string): string[] | null {
  if (!message.startsWith(KNOWN_KEYS_MARK)) return null;
  try {
    return JSON.parse(message.slice(KNOWN_KEYS_MARK.length)) as string[];
  } catch {
    return null;
  }
}

function jsType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A branch issue at the root that says "wrong kind of value altogether". */
function typeMismatch(b: ZodIssue, input: unknown): boolean {
  if (b.code === 'invalid_type') {
    const expected = b.expected === 'int' ? 'number' : b.expected;
    return expected !== jsType(input);
  }
  if (b.code === 'invalid_value') return !b.values.some((v) => jsType(v) === jsType(input));
  return false;
}

const NOUN: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
  record: 'a mapping',
};

function got(input: unknown): string {
  const t = jsType(input);
  if (t === 'object') return 'a mapping';
  if (t === 'array') return 'a list';
  return show(input);
}

function reword(iss: ZodIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'is required';
      return `expected ${NOUN[iss.expected] ?? iss.expected}, got ${got(iss.input)}`;
    case 'invalid_value': {
      const vals = iss.values.map((v) => show(v));
      const hint = typeof iss.input === 'string' ? didYouMean(iss.input, iss.values.map(String)) : '';
      return vals.length === 1 ? `must be ${vals[0]}, got ${got(iss.input)}${hint}` : `must be one of ${vals.join(', ')}, got ${got(iss.input)}${hint}`;
    }
    case 'too_small': {
      const n = Number(iss.minimum);
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at least ${n} item${n === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return n === 1 ? 'must not be empty' : `must be at least ${n} characters`;
      return iss.inclusive ? `must be at least ${n}, got ${got(iss.input)}` : `must be greater than ${n}, got ${got(iss.input)}`;
    }
    case 'too_big': {
      const n = Number(iss.maximum);
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at most ${n} item${n === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return `must be at most ${n} characters`;
      return iss.inclusive ? `must be at most ${n}, got ${got(iss.input)}` : `must be less than ${n}, got ${got(iss.input)}`;
    }
    case 'invalid_union': {
      if (iss.note === 'No matching discriminator') return `needs a valid "type"`;
      // "expected a string or a list, got 5" from what each branch wanted at its root.
      const wanted = new Set<string>();
      for (const branch of iss.errors ?? []) {
        for (const b of branch) {
          if (b.path.length !== 0) continue;
          if (b.code === 'invalid_type') wanted.add(NOUN[b.expected] ?? b.expected);
          else if (b.code === 'invalid_value') b.values.forEach((v) => wanted.add(show(v)));
        }
      }
      return wanted.size ? `expected ${[...wanted].join(' or ')}, got ${got(iss.input)}` : `${got(iss.input)} is not a valid value here`;
    }
    case 'invalid_key':
      return `has an invalid key`;
    case 'invalid_format':
      return `${got(iss.input)} has the wrong format`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    default:
      return iss.message;
  }
}
