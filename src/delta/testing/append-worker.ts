// Child process for the concurrency test: appends `commits` one-row commits to the table at argv[2].
// Row ids are worker * 1_000_000 + i, so the parent can check that nothing was lost or duplicated.
import { DuckDBInstance } from '../../duckdb.js';
import { DeltaTable } from '../index.js';
import type { StructType } from '../schema/types.js';

const [dir, workerArg, commitsArg] = process.argv.slice(2);
const worker = Number(workerArg);
const commits = Number(commitsArg);
const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'worker', type: 'integer', nullable: true, metadata: {} },
  ],
};

const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await inst.connect();
const table = DeltaTable.forPath(dir);
const versions: number[] = [];
for (let i = 0; i < commits; i++) {
  const r = await table.write(conn, { selectSql: `SELECT ${worker * 1_000_000 + i}::BIGINT AS id, ${worker}::INTEGER AS worker`, schema, mode: 'append' });
  versions.push(r.version);
}
conn.closeSync();
process.send?.({ worker, versions }, () => process.exit(0));
