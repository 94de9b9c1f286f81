// Contender d: what a user writes first: fetch behind a concurrency limit, one process,
// results appended as JSON lines.
// usage: node naive.mjs <origin> <pathPrefix> <rows> <concurrency> <outFile>
import { createWriteStream } from 'node:fs';

const [origin, prefix, rowsArg, concArg, outFile] = process.argv.slice(2);
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
      out.write(JSON.stringify({ id, status: res.status, body, started, finished: new Date().toISOString() }) + '\n');
    } catch (e) {
      out.write(JSON.stringify({ id, error: String(e), started }) + '\n');
    }
  }
}
await Promise.all(Array.from({ length: conc }, lane));
await new Promise((r) => out.end(r));
