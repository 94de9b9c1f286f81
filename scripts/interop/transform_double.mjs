// A stand-in for restlake's worker in Spark's SQL script transformation: one JSON value per stdin line
// in, one tab-separated line out (the value doubled, and where this process ran). Spark ships this file
// with --files and runs `node transform_double.mjs` inside each executor.
import { createInterface } from 'node:readline';

for await (const line of createInterface({ input: process.stdin })) {
  if (line === '') continue;
  const id = Number(JSON.parse(line).id);
  process.stdout.write(`${id * 2}\t${process.pid}\t${process.cwd()}\t${process.version}\n`);
}
