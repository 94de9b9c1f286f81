// Sources that are not clean: every line that cannot be read is named (file, line,
// reason, text) before a row is used, for single files, directories and globs; a clean
// source is counted by the same pass; source.encoding reads what is not UTF-8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { RunError } from '../errors.js';
import type { SourceConfig } from '../config/types.js';
import { registerSource } from './relation.js';

const lines = (n: number, row: (i: number) => string): string => Array.from({ length: n }, (_, i) => row(i + 1) + '\n').join('');

// [title, files (name -> content), path (relative), format, the message's lines after the first with <dir> for the temp dir, total]
const cases: [string, Record<string, string | Buffer>, string, 'csv' | 'json', string[], number][] = [
  [
    'a field too many (DuckDB alone reads one column named "id,name")',
    { 'a.csv': 'id,name\n1,a\n2,b,extra\n4,d\n' },
    'a.csv', 'csv',
    ['  <dir>/a.csv line 3: 3 fields where the header has 2: "2,b,extra"'],
    1,
  ],
  [
    'a field too many after 5,000 good lines (DuckDB alone: "Error when sniffing file """)',
    { 'a.csv': 'id,name\n' + lines(5000, (i) => `${i},n${i}`) + '5001,b,extra\n' + lines(3, (i) => `${5001 + i},x`) },
    'a.csv', 'csv',
    ['  <dir>/a.csv line 5002: 3 fields where the header has 2: "5001,b,extra"'],
    1,
  ],
  [
    'a field too few, and more bad lines than are shown',
    { 'a.csv': 'id,name,city\n' + lines(14, (i) => (i % 2 ? `${i},n,c` : `${i},n`)) },
    'a.csv', 'csv',
    [...[2, 4, 6, 8, 10].map((i) => `  <dir>/a.csv line ${i + 1}: 2 fields where the header has 3: "${i},n"`), '  … and 2 more'],
    7,
  ],
  [
    'one field too many, and it empty (DuckDB alone reads the line without it, or fails: "Error when sniffing file ""), quoted line ends too',
    { 'a.csv': 'id,name\n1,a\n2,b,\n3,"c,\nd",\n4,d\n5,e\n6,f\n' },
    'a.csv', 'csv',
    [
      '  <dir>/a.csv line 3: 3 fields where the header has 2 (the last one empty: the line ends with a delimiter): "2,b,"',
      '  <dir>/a.csv line 4: 3 fields where the header has 2 (the last one empty: the line ends with a delimiter): "3,\\"c,"',
    ],
    2,
  ],
  [
    'broken quoting (DuckDB alone drops the quote character and keeps the quotes in the values)',
    { 'a.csv': 'id,name\n1,"a, b"\n2,"c"\n3,"d"x\n4,"e\n5,f\n' },
    'a.csv', 'csv',
    [
      '  <dir>/a.csv line 4: a quoted field is not closed, or text follows its closing quote: "3,\\"d\\"x"',
      '  <dir>/a.csv line 5: a quoted field is not closed, or text follows its closing quote: "4,\\"e"',
    ],
    2,
  ],
  [
    'a value the sniffed type cannot hold, past the sample (DuckDB alone fails mid-stream)',
    { 'a.csv': 'id,amount\n' + lines(25000, (i) => `${i},${i * 3}`) + '25001,abc\n' },
    'a.csv', 'csv',
    ['  <dir>/a.csv line 25002: column "amount" holds "abc", not the BIGINT its first lines show: "25001,abc"'],
    1,
  ],
  [
    'latin-1 read as UTF-8: what to set',
    { 'a.csv': Buffer.from('id,name\n1,Müller\n2,plain\n', 'latin1') },
    'a.csv', 'csv',
    [
      '  <dir>/a.csv line 2: not valid in the encoding read: "1,M?ller"',
      '  the file is not utf-8: set source.encoding (latin-1 for most Excel and SAP exports, or utf-16)',
    ],
    1,
  ],
  [
    'a directory: the file with the bad line is named',
    { 'in/a.csv': 'id,name\n1,a\n', 'in/b.csv': 'id,name\n2,b\n3,c,x\n' },
    'in', 'csv',
    ['  <dir>/in/b.csv line 3: 3 fields where the header has 2: "3,c,x"'],
    1,
  ],
  [
    'JSON lines: malformed (DuckDB says line 3, one too many), and not an object (DuckDB alone reads one column "json")',
    { 'a.jsonl': '{"id":1}\n{"id":2,\n{"id":3}\n[4]\n' },
    'a.jsonl', 'json',
    ['  <dir>/a.jsonl line 2: not valid JSON (Expected double-quoted property name): "{\\"id\\":2,"', '  <dir>/a.jsonl line 4: a JSON array, not an object: "[4]"'],
    2,
  ],
  [
    'JSON lines: a glob over files, a bad line after a million good ones',
    { 'j/a.jsonl': '{"id":0}\n', 'j/b.jsonl': lines(1_000_000, (i) => `{"id":${i}}`) + '{"id": 5, broken\n' },
    'j/*.jsonl', 'json',
    ['  <dir>/j/b.jsonl line 1000001: not valid JSON (Expected double-quoted property name): "{\\"id\\": 5, broken"'],
    1,
  ],
  [
    'JSON lines: what DuckDB reads although it is not JSON (a trailing comma, NaN), and a BOM',
    { 'a.jsonl': '\uFEFF{"id":1}\n{"id":2,}\n{"id":3,"x":[1,2,]}\n{"id":4,"x":NaN}\n{"id":5,"x":"a, inf,}"}\n' },
    'a.jsonl', 'json',
    [
      '  <dir>/a.jsonl line 1: starts with a byte order mark (BOM), which JSON lines do not have: save the file as UTF-8 without BOM: "{\\"id\\":1}"',
      '  <dir>/a.jsonl line 2: not valid JSON (Expected double-quoted property name): "{\\"id\\":2,}"',
      '  <dir>/a.jsonl line 3: not valid JSON (Unexpected token \']\', "{"id":3,"x":[1,2,]}" is not valid JSON): "{\\"id\\":3,\\"x\\":[1,2,]}"',
      '  <dir>/a.jsonl line 4: not valid JSON (Unexpected token \'N\', "{"id":4,"x":NaN}" is not valid JSON): "{\\"id\\":4,\\"x\\":NaN}"',
    ],
    4,
  ],
  [
    'JSON lines: not UTF-8',
    { 'a.jsonl': Buffer.from('{"name":"Zoë"}\n', 'latin1') },
    'a.jsonl', 'json',
    ['  <dir>/a.jsonl line 1: not valid UTF-8: "{\\"name\\":\\"Zo�\\"}"', '  JSON lines are UTF-8 by definition: convert the file (e.g. iconv -f latin1 -t utf-8)'],
    1,
  ],
];

async function withSource<T>(files: Record<string, string | Buffer>, fn: (dir: string, conn: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-unclean-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    return await fn(dir, conn);
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

for (const [title, files, path, format, expected, total] of cases) {
  test(`a source with lines that cannot be read: ${title}`, { timeout: 60_000 }, () =>
    withSource(files, async (dir, conn) => {
      const source: SourceConfig = { path: join(dir, path), format, key: null, limit: 1 };
      await assert.rejects(registerSource(conn, source), (e: unknown) => {
        assert.ok(e instanceof RunError && e.multiline, String(e));
        const what = total === 1 ? '1 line that cannot be read' : `${total} lines that cannot be read`;
        assert.equal(e.message, [`cannot read source ${join(dir, path)} (${format}): ${what}; nothing was sent`, ...expected].join('\n').replaceAll('<dir>', dir));
        return true;
      });
    }),
  );
}

test('a clean CSV or JSON source is counted by its check (limit applied); quoted fields past the sample read as one field', () =>
  withSource(
    {
      'a.csv': 'zip;name\n' + lines(25000, (i) => `${String(i).padStart(5, '0')};n`) + '99999;"a;b"\n',
      'j/a.jsonl': '{"id":1}\n\n{"id":2}\n',
      // A last column left empty ends lines with the delimiter: no extra field.
      'e.csv': 'id,name,x\n1,a,\n2,"b,\n",\n',
    },
    async (dir, conn) => {
      const csv = await registerSource(conn, { path: join(dir, 'a.csv'), format: 'csv', key: null, limit: null });
      assert.equal(csv.rows, 25001);
      assert.deepEqual(csv.csv, [{ delim: ';', quote: '"' }]);
      const last = await conn.runAndReadAll(`SELECT zip, name FROM ${csv.relation} WHERE zip = '99999'`);
      assert.deepEqual(last.getRowsJson(), [['99999', 'a;b']]);
      assert.equal((await registerSource(conn, { path: join(dir, 'a.csv'), format: 'csv', key: null, limit: 10 })).rows, 10);
      const json = await registerSource(conn, { path: join(dir, 'j'), format: 'json', key: null, limit: null });
      assert.deepEqual([json.rows, json.csv], [2, null]);
      assert.equal((await registerSource(conn, { path: join(dir, 'e.csv'), format: 'csv', key: null, limit: null })).rows, 2);
    },
  ));

test('source.encoding: latin-1 and utf-16 CSV read as text', () =>
  withSource(
    {
      'l.csv': Buffer.from('id,name\n1,Müller\n2,Zoë\n', 'latin1'),
      'u.csv': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id,name\n1,Müller\n2,Zoë\n', 'utf16le')]),
    },
    async (dir, conn) => {
      for (const [file, encoding] of [['l.csv', 'latin-1'], ['u.csv', 'utf-16']] as const) {
        const { relation } = await registerSource(conn, { path: join(dir, file), format: 'csv', key: null, limit: null, encoding });
        const r = await conn.runAndReadAll(`SELECT name FROM ${relation} ORDER BY id`);
        assert.deepEqual(r.getRowsJson(), [['Müller'], ['Zoë']], file);
      }
    },
  ));

test('source.encoding: utf-16 big-endian, with or without BOM, is named (DuckDB and Spark read little-endian only); little-endian without BOM still reads', () => {
  const be = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();
  const text = 'id,name\n1,Müller\n2,Zoë\n';
  return withSource(
    {
      'bom.csv': Buffer.concat([Buffer.from([0xfe, 0xff]), be(text)]),
      'nobom.csv': be(text),
      'le.csv': Buffer.from(text, 'utf16le'),
    },
    async (dir, conn) => {
      for (const file of ['bom.csv', 'nobom.csv']) {
        const f = join(dir, file);
        await assert.rejects(registerSource(conn, { path: f, format: 'csv', key: null, limit: null, encoding: 'utf-16' }), {
          message: `cannot read source ${f} (csv): ${f} is UTF-16 big-endian, and source.encoding utf-16 reads little-endian (as DuckDB does); convert it, e.g. iconv -f UTF-16BE -t UTF-16LE, or to UTF-8`,
        });
      }
      const { relation } = await registerSource(conn, { path: join(dir, 'le.csv'), format: 'csv', key: null, limit: null, encoding: 'utf-16' });
      assert.deepEqual((await conn.runAndReadAll(`SELECT name FROM ${relation} ORDER BY id`)).getRowsJson(), [['Müller'], ['Zoë']]);
    },
  );
});
