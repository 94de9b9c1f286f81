// Contender b: the least code that sends the same requests with undici, over the
// same number of processes and connections as restlake, with no sink.
// usage: node bare.mjs <origin> <pathPrefix> <rows> <processes> <connections> <concurrency>
import { fork } from 'node:child_process';
import { Pool } from 'undici';

const [origin, prefix, rowsArg, procsArg, connsArg, concArg] = process.argv.slice(2);
const rows = Number(rowsArg), procs = Number(procsArg), conns = Number(connsArg), conc = Number(concArg);

if (process.env.BARE_PART === undefined) {
  const kids = [];
  for (let k = 0; k < procs; k++) kids.push(fork(new URL(import.meta.url).pathname, process.argv.slice(2), { env: { ...process.env, BARE_PART: String(k) } }));
  const codes = await Promise.all(kids.map((c) => new Promise((r) => c.once('exit', r))));
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
} else {
  const part = Number(process.env.BARE_PART);
  const pool = new Pool(origin, { connections: conns, pipelining: 1 });
  let next = part;
  let failed = 0;
  async function lane() {
    for (;;) {
      const i = next;
      if (i >= rows) return;
      next += procs;
      const res = await pool.request({ method: 'GET', path: `${prefix}${i}?region=eu` });
      await res.body.text();
      if (res.statusCode !== 200) failed++;
    }
  }
  await Promise.all(Array.from({ length: conc }, lane));
  await pool.close();
  process.exit(failed ? 1 : 0);
}
