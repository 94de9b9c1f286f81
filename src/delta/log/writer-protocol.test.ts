// The writer-side protocol check (features.ts) guards every writer of _delta_log, checkpoints included
// (DeltaTable.checkpoint, `restlake table checkpoint`).
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

