// Reading a config file into plain data plus a map from key paths to line numbers,
// so every issue can point at the line to fix. YAML and JSON are both read with the
// `yaml` parser's Document API (JSON is YAML's flow subset), which keeps node offsets;
// JSON is additionally parsed with JSON.parse so JSON-only rules stay JSON's.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLError } from 'yaml';
import type { PathSegment } from './key-path.js';

export interface ConfigSource {
  data: unknown;
  /** The line (1-based) of the node at `path`, or of its nearest ancestor present in the file. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
  /** Problems reading or parsing the file; `data` is unusable when there are any. */
  issues: { path: PathSegment[]; message: string; line?: number }[];
}

export async function readConfigFile(file: string): Promise<ConfigSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
    return { data: undefined, lineOf: () => undefined, issues: [{ path: [], message: `cannot read config file: ${why}` }] };
  }
  const ext = extname(file).toLowerCase();
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    return {
      data: undefined,
      lineOf: () => undefined,
      issues: [{ path: [], message: `config file must end in .yaml, .yml or .json (got "${ext || 'no extension'}")` }],
    };
  }
  return parseConfigText(text, ext === '.json' ? 'json' : 'yaml');
}

/** What the parser says, in words for a pipeline author; its own hints name its API. */
function yamlMessage(err: YAMLError, text: string): string {
  if (err.code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document (a "---" line); a pipeline config is one document';
  if (err.code === 'DUPLICATE_KEY') {
    // The error points at the second key; name it.
    const m = /^(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^:,{}\s][^:,{}]*?))\s*:/.exec(text.slice(err.pos[0]));
    const key = m ? (m[1] ?? m[2] ?? m[3]) : undefined;
    return key === undefined ? 'a key appears twice in one mapping' : `key ${JSON.stringify(key)} appears twice in one mapping`;
  }
  return err.message.split('\n')[0];
}

export function parseConfigText(text: string, kind: 'yaml' | 'json'): ConfigSource {
  // Editors on Windows save a byte-order mark; JSON.parse rejects it, YAML skips it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    keepSourceTokens: true,
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    logLevel: 'error',
    // `<<: *defaults` merge keys: handy for repeated middleware or auth blocks.
    merge: true,
  });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line || 1;
  const lineOf = (path: readonly PropertyKey[]) => lineOfPath(doc, path, lineAt);

  if (kind === 'json') {
    try {
      const data = JSON.parse(text) as unknown;
      // JSON.parse keeps the last of two equal keys without a word; the second one is
      // almost always a mistake (a pasted block), so it is refused here as in YAML.
      const duplicates = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY');
      if (duplicates.length) return { data: undefined, lineOf: () => undefined, issues: parserIssues(duplicates, text, lineAt, 'invalid JSON') };
      return { data, lineOf: doc.errors.length ? () => undefined : lineOf, issues: [] };
    } catch (e) {
      // JSON.parse says "at position N"; turn that into a line.
      const msg = (e as Error).message;
      const pos = /position (\d+)/.exec(msg);
      return {
        data: undefined,
        lineOf: () => undefined,
        issues: [{ path: [], message: `invalid JSON: ${msg}`, line: pos ? lineAt(Number(pos[1])) : undefined }],
      };
    }
  }

  // A tag the parser does not know (`!env API_KEY`, written for another tool) would
  // otherwise be dropped, and its text ("API_KEY") sent as the value.
  const unknownTags = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (doc.errors.length || unknownTags.length) {
    return {
      data: undefined,
      lineOf: () => undefined,
      issues: [
        ...parserIssues(doc.errors, text, lineAt, 'invalid YAML'),
        ...unknownTags.map((w) => ({
          path: [],
          message: `${w.message.split('\n')[0]}; restlake reads plain YAML: write \${env:NAME} for an environment variable, \${file:path} for a file`,
          line: w.linePos?.[0]?.line ?? lineAt(w.pos[0]),
        })),
      ],
    };
  }
  try {
    // Aliases are expanded by toJS; the cap stops a "billion laughs" document.
    return { data: doc.toJS({ maxAliasCount: 1000 }) as unknown, lineOf, issues: [] };
  } catch (e) {
    return { data: undefined, lineOf: () => undefined, issues: [{ path: [], message: `invalid YAML: ${(e as Error).message} (aliases expand to too much)` }] };
  }
}

/** Parser errors as issues with their lines; the parser may report one fault twice, once is enough. */
function parserIssues(
  errors: readonly YAMLError[],
  text: string,
  lineAt: (offset: number) => number,
  prefix: string,
): { path: PathSegment[]; message: string; line?: number }[] {
  const byKey = new Map<string, { path: PathSegment[]; message: string; line?: number }>();
  for (const err of errors) {
    const issue = { path: [], message: `${prefix}: ${yamlMessage(err, text)}`, line: err.linePos?.[0]?.line ?? lineAt(err.pos[0]) };
    byKey.set(`${issue.line}:${issue.message}`, issue);
  }
  return [...byKey.values()];
}

function lineOfPath(doc: Document, path: readonly PropertyKey[], lineAt: (offset: number) => number): number | undefined {
  let node: unknown = doc.contents;
  let line = node && (node as Node).range ? lineAt((node as Node).range![0]) : undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      // The key's line is where a reader looks, for scalars and nested blocks alike.
      const keyNode = pair.key as Node | null;
      if (keyNode?.range) line = lineAt(keyNode.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      if (item.range) line = lineAt(item.range[0]);
      node = item;
    } else {
      break;
    }
  }
  return line;
}
