// The writer-side protocol check (features.ts) guards every writer of _delta_log: checkpoints
// (DeltaTable.checkpoint, `restlake table checkpoint`) and raw commits (DeltaTable.commit), which must
// also stamp in-commit timestamps like the write path does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DeltaError, DeltaTable } from '../index.js';
import type { Protocol } from './actions.js';
import { tempDir } from '../testing/duck.js';

const SCHEMA = '{"type":"struct","fields":[{"name":"a","type":"integer","nullable":true,"metadata":{}}]}';
const META = { id: 'wp', format: { provider: 'parquet', options: {} }, schemaString: SCHEMA, partitionColumns: [], configuration: {} as Record<string, string> };
const logFile = (dir: string, name: string): string => path.join(dir, '_delta_log', name);
const commitName = (v: number): string => `${String(v).padStart(20, '0')}.json`;

async function withLog(v0: object[], fn: (dir: string, table: DeltaTable) => Promise<void>): Promise<void> {
  const t = await tempDir('writer-protocol');
  try {
    await fs.mkdir(path.join(t.dir, '_delta_log'));
    await fs.writeFile(logFile(t.dir, commitName(0)), v0.map((a) => JSON.stringify(a)).join('\n') + '\n');
    await fn(t.dir, DeltaTable.forPath(t.dir));
  } finally {
    await t.cleanup();
  }
}

const refusal = (mention: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof DeltaError, `expected DeltaError, got ${String(e)}`);
  assert.equal(e.code, 'DELTA_UNSUPPORTED_FEATURE');
  assert.match(e.message, mention);
  return true;
};

// refused: what the error must name; null: restlake can write (and checkpoint) this table.
const PROTOCOLS: { name: string; protocol: Protocol; configuration?: Record<string, string>; refused: RegExp | null }[] = [
  { name: 'rowTracking', protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors', 'domainMetadata', 'rowTracking'] }, refused: /writer feature 'rowTracking' is not supported/ },
  { name: 'clustering', protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['domainMetadata', 'clustering'] }, refused: /writer feature 'clustering' is not supported/ },
  { name: 'an unknown feature with rowTracking', protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['appendOnly', 'someFutureFeature', 'rowTracking'] }, refused: /writer features 'someFutureFeature', 'rowTracking' are not supported/ },
  { name: 'writer version 8', protocol: { minReaderVersion: 1, minWriterVersion: 8 }, refused: /writer version 8/ },
  { name: 'supported features', protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors', 'domainMetadata', 'v2Checkpoint'] }, refused: null },
  { name: 'legacy 1/2', protocol: { minReaderVersion: 1, minWriterVersion: 2 }, refused: null },
];

describe('checkpoints pass the writer protocol check', () => {
  for (const c of PROTOCOLS) {
    test(`checkpoint of a table with ${c.name}: ${c.refused ? 'refused, naming it' : 'written'}`, async () => {
      await withLog([{ protocol: c.protocol }, { metaData: META }], async (dir, table) => {
        if (c.refused) {
          await assert.rejects(table.checkpoint(), refusal(new RegExp(`cannot write a checkpoint of .*${c.refused.source}`)));
          assert.ok(!existsSync(logFile(dir, '00000000000000000000.checkpoint.parquet')), 'no checkpoint file');
          assert.ok(!existsSync(logFile(dir, '_last_checkpoint')), 'no _last_checkpoint');
        } else {
          await table.checkpoint();
          assert.ok(existsSync(logFile(dir, '00000000000000000000.checkpoint.parquet')));
        }
      });
    });
  }

  test('content rules of the write path do not apply: a column-mapping table gets its checkpoint', async () => {
    const cm = { ...META, configuration: { 'delta.columnMapping.mode': 'name', 'delta.columnMapping.maxColumnId': '1' } };
    await withLog([{ protocol: { minReaderVersion: 2, minWriterVersion: 5 } }, { metaData: cm }], async (dir, table) => {
      await table.checkpoint();
      assert.ok(existsSync(logFile(dir, '00000000000000000000.checkpoint.parquet')));
    });
  });
});

describe('DeltaTable.commit is held to the write path', () => {
  for (const c of PROTOCOLS) {
    test(`commit to a table with ${c.name}: ${c.refused ? 'refused, naming it' : 'committed'}`, async () => {
      await withLog([{ protocol: c.protocol }, { metaData: META }], async (dir, table) => {
        const commit = table.commit([{ commitInfo: { operation: 'WRITE' } }]);
        if (c.refused) {
          await assert.rejects(commit, refusal(new RegExp(`cannot write to .*${c.refused.source}`)));
          assert.ok(!existsSync(logFile(dir, commitName(1))), 'nothing committed');
        } else {
          assert.equal(await commit, 1);
        }
      });
    });
  }

  test('a commit that would add an unsupported writer feature, or create a table with one, is refused', async () => {
    await withLog([{ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }, { metaData: META }], async (dir, table) => {
      const upgrade = { protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['appendOnly', 'invariants', 'rowTracking'] } };
      await assert.rejects(table.commit([{ commitInfo: { operation: 'UPGRADE PROTOCOL' } }, upgrade]), refusal(/'rowTracking'/));
      assert.ok(!existsSync(logFile(dir, commitName(1))), 'nothing committed');
    });
    const t = await tempDir('writer-protocol-create');
    try {
      const create = DeltaTable.forPath(t.dir).commit([{ protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['clustering'] } }, { metaData: META }], { readVersion: -1 });
      await assert.rejects(create, refusal(/'clustering'/));
      assert.ok(!existsSync(logFile(t.dir, commitName(0))), 'no table created');
    } finally {
      await t.cleanup();
    }
  });

  test('removing data from an append-only table is refused; the table checkpoint interval applies', async () => {
    const cfg = { 'delta.appendOnly': 'true', 'delta.checkpointInterval': '2' };
    await withLog([{ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }, { metaData: { ...META, configuration: cfg } }], async (dir, table) => {
      const remove = (dataChange: boolean) => ({ remove: { path: 'part-0.parquet', dataChange, deletionTimestamp: Date.now() } });
      await assert.rejects(table.commit([{ commitInfo: { operation: 'DELETE' } }, remove(true)]), refusal(/append-only/));
      assert.equal(await table.commit([{ commitInfo: { operation: 'OPTIMIZE' } }, remove(false)]), 1);
      assert.equal(await table.commit([{ commitInfo: { operation: 'WRITE' } }]), 2);
      assert.ok(existsSync(logFile(dir, '00000000000000000002.checkpoint.parquet')), 'checkpoint at the table interval of 2');
    });
  });

  test('in-commit timestamps: commitInfo gets one strictly after the previous commit; without commitInfo first it is refused', async () => {
    const future = Date.now() + 3_600_000; // a clock ahead of ours
    const v0 = [
      { commitInfo: { timestamp: future, inCommitTimestamp: future, operation: 'CREATE TABLE' } },
      { protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['inCommitTimestamp'] } },
      { metaData: { ...META, configuration: { 'delta.enableInCommitTimestamps': 'true' } } },
    ];
    await withLog(v0, async (dir, table) => {
      assert.equal(await table.commit([{ commitInfo: { operation: 'WRITE' } }]), 1);
      const first = JSON.parse((await fs.readFile(logFile(dir, commitName(1)), 'utf8')).split('\n')[0]);
      assert.equal(first.commitInfo?.inCommitTimestamp, future + 1);
      await assert.rejects(table.commit([{ txn: { appId: 'x', version: 1 } }]), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_INVALID_ARGUMENT' && /must start with commitInfo/.test(e.message));
      assert.equal((await table.snapshot({ timestamp: future + 1 })).version, 1);
    });
  });
});
