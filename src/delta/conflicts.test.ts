// Two writers racing for the same version of a real temp table: the loser's commit is held back until
// the winner has committed, then either moves to the next version (appends, compaction) or fails with
// DELTA_CONCURRENT_CONFLICT (a commit that changes metadata, overwrites or creates-by-overwrite while
// the winner added files), leaving only the winner's rows live.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError, DeltaTable, LocalStorage, type StructType } from './index.js';
import type { WriteOptions } from './write/write.js';
import { openConn, rows, tempDir } from './testing/duck.js';

let conn: DuckDBConnection;
let close: () => void;
before(async () => ({ conn, close } = await openConn()));
after(() => close());

const A: StructType = { type: 'struct', fields: [{ name: 'a', type: 'integer', nullable: true, metadata: {} }] };
const AP: StructType = { type: 'struct', fields: [...A.fields, { name: 'p', type: 'string', nullable: true, metadata: {} }] };
const append = (a: number): WriteOptions => ({ selectSql: `SELECT ${a}::INT AS a`, schema: A, mode: 'append' });
const overwrite = (a: number): WriteOptions => ({ selectSql: `SELECT ${a}::INT AS a`, schema: A, mode: 'overwrite' });

/** Runs `beforeCommit` (once) just before the first commit attempt, after the writer has read the table and written its files. */
class RacingStorage extends LocalStorage {
  constructor(root: string, private beforeCommit: (() => Promise<void>) | null) {
    super(root);
  }
  override async putIfAbsent(relPath: string, data: Buffer): Promise<boolean> {
    const hook = this.beforeCommit;
    if (hook && relPath.startsWith('_delta_log/') && relPath.endsWith('.json')) {
      this.beforeCommit = null;
      await hook();
    }
    return super.putIfAbsent(relPath, data);
  }
}

type Loser = { write: WriteOptions } | { compact: true };
interface Case { name: string; setup: WriteOptions | null; winner: WriteOptions; loser: Loser; conflict: RegExp | null; live: number[] }

const CASES: Case[] = [
  { name: 'append vs append: both land', setup: append(1), winner: append(2), loser: { write: append(3) }, conflict: null, live: [1, 2, 3] },
  { name: 'creating appends of the same schema: both land', setup: null, winner: append(2), loser: { write: append(3) }, conflict: null, live: [2, 3] },
  { name: 'compaction vs append: both land (SnapshotIsolation)', setup: append(1), winner: append(2), loser: { compact: true }, conflict: null, live: [1, 2] },
  { name: 'overwrite vs append: conflict', setup: append(1), winner: append(2), loser: { write: overwrite(3) }, conflict: /added .* which this overwrite did not see/, live: [1, 2] },
  { name: 'overwrite of an empty table vs append: conflict', setup: { ...overwrite(1), selectSql: 'SELECT 1::INT AS a WHERE false' }, winner: append(2), loser: { write: overwrite(3) }, conflict: /did not see/, live: [2] },
  { name: 'creating overwrites: conflict, no union', setup: null, winner: overwrite(2), loser: { write: overwrite(3) }, conflict: /created concurrently/, live: [2] },
  {
    name: 'overwriteSchema with new partitioning vs append: conflict',
    setup: append(1),
    winner: append(2),
    loser: { write: { selectSql: `SELECT 3::INT AS a, 'x' AS p`, schema: AP, mode: 'overwrite', overwriteSchema: true, partitionColumns: ['p'] } },
    conflict: /conflicts with this write/,
    live: [1, 2],
  },
  {
    name: 'mergeSchema append (metadata change) vs append: conflict',
    setup: append(1),
    winner: append(2),
    loser: { write: { selectSql: `SELECT 3::INT AS a, 'x' AS p`, schema: AP, mode: 'append', mergeSchema: true } },
    conflict: /changes the table metadata/,
    live: [1, 2],
  },
  { name: 'overwrite vs a commit without data files: lands', setup: append(1), winner: { ...append(2), selectSql: 'SELECT 2::INT AS a WHERE false' }, loser: { write: overwrite(3) }, conflict: null, live: [3] },
];

for (const c of CASES) {
  test(`race: ${c.name}`, async () => {
    const t = await tempDir('race');
    try {
      if (c.setup) await DeltaTable.forPath(t.dir).write(conn, c.setup);
      if ('compact' in c.loser) await DeltaTable.forPath(t.dir).write(conn, append(0)); // a second small file to compact
      const winnerTable = DeltaTable.forPath(t.dir);
      const loser = DeltaTable.forPath(t.dir, new RacingStorage(t.dir, async () => void (await winnerTable.write(conn, c.winner))));
      const run = 'compact' in c.loser ? loser.compact(conn, { targetFileRows: 10 }) : loser.write(conn, c.loser.write);
      if (c.conflict) {
        await assert.rejects(run, (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_CONCURRENT_CONFLICT' && c.conflict!.test(e.message));
      } else {
        await run;
      }
      const snap = await DeltaTable.forPath(t.dir).registerScan(conn, 'raced');
      const live = (await rows(conn, 'SELECT a FROM raced ORDER BY a')).map((r) => r.a);
      assert.deepEqual(live, 'compact' in c.loser ? [0, ...c.live] : c.live);
      // a refused commit leaves no files of its own behind in the table's live set
      assert.ok(snap.files.every((f) => !f.path.startsWith('p=')), 'no file of the refused overwriteSchema is live');
    } finally {
      await t.cleanup();
    }
  });
}
