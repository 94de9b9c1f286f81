// Node flags every worker process starts with, under both engines.
//
// V8's young generation: the 16 MB semi-spaces that Node 20 and 22 give a process.
// Node 24 sizes them by the machine's memory (64 MB each on this 24 GiB machine), and
// a worker then sat at ~210 MB RSS instead of ~140 MB with no CPU saved (100k rows
// alone, 3 runs each; whole run's RSS peak 495 → 427-468 MB). Under Spark the worker's
// memory counts against the executor's memory overhead, so it should not depend on
// the Node version. Smaller than 16 MB cost CPU (bench/README.md).
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
