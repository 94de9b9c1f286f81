// Reading a config file into plain data plus a map from key paths to line numbers,
// so every issue can point at the line to fix. YAML and JSON are both read with the
// `yaml` parser's Document API (JSON is YAML's flow subset), which keeps node offsets;
// JSON is additionally parsed with JSON.parse so JSON-only rules stay JSON's.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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

export function parseConfigText(text: string, kind: 'yaml' | 'json'): ConfigSource {
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

  if (doc.errors.length) {
    return {
      data: undefined,
      lineOf: () => undefined,
      // The parser may report one fault twice; once is enough.
      issues: [
        ...new Map(
          doc.errors.map((err) => {
            const issue = { path: [], message: `invalid YAML: ${err.message.split('\n')[0]}`, line: err.linePos?.[0]?.line ?? lineAt(err.pos[0]) };
            return [`${issue.line}:${issue.message}`, issue] as const;
          }),
        ).values(),
      ],
    };
  }
  // Aliases are expanded by toJS; the cap stops a "billion laughs" document.
  return { data: doc.toJS({ maxAliasCount: 1000 }) as unknown, lineOf, issues: [] };
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
