// Contender d: what a user writes first: fetch behind a concurrency limit, one process,
// results appended as JSON lines. With `extract` it also parses the JSON body and keeps
// `score` and `data.items[0].name`, as restlake does in the extract scenario.
// usage: node naive.mjs <origin> <pathPrefix> <rows> <concurrency> <outFile> [extract]
import { createWriteStream } from 'node:fs';

const [origin, prefix, rowsArg, concArg, outFile, mode] = process.argv.slice(2);
const extract = mode === 'extract';
let failed = 0;
const rows = Number(rowsArg), conc = Number(concArg);
const out = createWriteStream(outFile);
let next = 0;
async function lane() {
  while (next < rows) {
    const id = next++;
    const started = new Date().toISOString();
    try {
      const res = await fetch(`${origin}${prefix}${id}?region=eu`);
      const body = await res.text();
      const row = { id, status: res.status, body, started, finished: new Date().toISOString() };
      if (extract) {
        try {
          const doc = JSON.parse(body);
          row.score = typeof doc?.score === 'number' ? doc.score : null;
          const name = doc?.data?.items?.[0]?.name;
          row.first_name = typeof name === 'string' ? name : null;
        } catch {
          row.error = 'response body is not JSON';
          failed++;
        }
      }
      out.write(JSON.stringify(row) + '\n');
    } catch (e) {
      failed++;
      out.write(JSON.stringify({ id, error: String(e), started }) + '\n');
    }
  }
}
await Promise.all(Array.from({ length: conc }, lane));
await new Promise((r) => out.end(r));
process.exitCode = failed === 0 ? 0 : 1;
