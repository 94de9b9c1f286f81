// The demo's pipelines are the commented examples in examples/, copied into the
// demo directory with their source and sink paths pointed there. The comments
// survive (yaml's Document API), so the files the demo ran are worth reading.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { DemoSources } from './demo-sources.js';

/** The repo's (or installed package's) examples folder. */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface DemoPipeline {
  /** Pipeline name (the config's `name`). */
  name: string;
  /** The example it was made from. */
  example: string;
  /** The config file written for this demo run. */
  config: string;
  /** The Delta table it writes. */
  table: string;
  /** Source rows it will send. */
  rows: number;
}

/** One per auth pattern, in display order, with the source each reads. */
export const DEMO_EXAMPLES: ReadonlyArray<{ file: string; source: keyof DemoSources }> = [
  { file: 'none.yaml', source: 'orders' },
  { file: 'basic.yaml', source: 'customers' },
  { file: 'bearer.yaml', source: 'orders' },
  { file: 'oauth2-client-credentials.yaml', source: 'orders' },
  { file: 'oauth2-password.yaml', source: 'customers' },
];

export async function writeDemoConfigs(dir: string, sources: DemoSources, rows: number, examplesDir = EXAMPLES_DIR): Promise<DemoPipeline[]> {
  const configDir = join(dir, 'pipelines');
  await mkdir(configDir, { recursive: true });
  const out: DemoPipeline[] = [];
  for (const { file, source } of DEMO_EXAMPLES) {
    const example = join(examplesDir, file);
    const doc = parseDocument(await readFile(example, 'utf8'));
    if (doc.errors.length > 0) throw new Error(`demo: ${example}: ${doc.errors[0].message}`);
    const name = String(doc.get('name'));
    const table = join(dir, name);
    // Paths relative to the written config, so the demo directory can be moved as a whole.
    doc.setIn(['source', 'path'], relPath(configDir, sources[source]));
    doc.setIn(['sink', 'path'], relPath(configDir, table));
    doc.commentBefore =
      ` Written by \`restlake demo\` from examples/${file}: source and sink point into this demo directory.\n` +
      ` The secrets and URLs come from the demo's in-process servers through environment variables.\n` +
      (doc.commentBefore ?? '');
    const config = join(configDir, `${name}.yaml`);
    await writeFile(config, doc.toString());
    out.push({ name, example, config, table, rows });
  }
  return out;
}

function relPath(from: string, to: string): string {
  const r = relative(from, to).split('\\').join('/');
  return r.startsWith('.') ? r : './' + r;
}
