// Table-driven: invalid configs, each with the exact issues expected (key path, message,
// YAML line). Every case asserts the complete list, so an extra or missing issue fails too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { makeCerts } from '../transport/test-support.js';
import { loadConfig } from './load.js';
import { issuesOf, tempDir, type TempDir } from './testing.js';

type Expected = [path: string, message: string, line?: number];

// The end of every "sink.path overlaps the source" message.
const OWN_TABLE = 'results need a table of their own, or mode overwrite would replace the rows being read';

// Lines 1-8 of every case unless it says otherwise.
const HEAD = `version: 1
name: t
source:
  path: ./rows.csv
request:
  url: "https://api.example.com/x/{{ id }}"
sink:
  path: ./lake
`;

const cases: { title: string; yaml: string; env?: Record<string, string>; expect: Expected[] }[] = [
  {
    title: 'unknown top-level key with a suggestion',
    yaml: HEAD + 'sinks: {}\n',
    expect: [['sinks', 'unknown key "sinks" (did you mean "sink"?)', 9]],
  },
  {
    title: 'unknown nested key with a suggestion',
    yaml: HEAD.replace('  url:', '  metod: POST\n  url:'),
    expect: [['request.metod', 'unknown key "metod" (did you mean "method"?)', 6]],
  },
  {
    title: 'unknown key far from any known one lists the known keys',
    yaml: HEAD + 'transport:\n  zzzzzz: 1\n',
    expect: [
      [
        'transport.zzzzzz',
        'unknown key "zzzzzz"; expected one of timeout, connect_timeout, headers_timeout, body_timeout, connections, max_response_bytes, tls',
        10,
      ],
    ],
  },
  {
    title: 'missing required keys',
    yaml: 'version: 1\nrequest:\n  method: GET\n',
    expect: [
      ['request.url', 'is required', 2],
      ['name', 'is required', 1],
      ['source', 'is required', 1],
      ['sink', 'is required', 1],
    ],
  },
  {
    title: 'bad enum value with did-you-mean',
    yaml: HEAD.replace('  url:', '  method: POTS\n  url:'),
    expect: [['request.method', 'unknown HTTP method "POTS"; expected one of GET, POST, PUT, PATCH, DELETE (did you mean "POST"?)', 6]],
  },
  {
    title: 'unsupported version',
    yaml: HEAD.replace('version: 1', 'version: 2'),
    expect: [['version', 'unsupported config version 2; this restlake reads version 1', 1]],
  },
  {
    title: 'name with capitals and dashes',
    yaml: HEAD.replace('name: t', 'name: Orders-Scoring'),
    expect: [['name', '"Orders-Scoring" is not a valid name; use lower-case letters, digits and _', 2]],
  },
  {
    title: 'bad duration',
    yaml: HEAD + 'transport:\n  timeout: 30 sec\n',
    expect: [['transport.timeout', '"30 sec" is not a duration; use e.g. 250ms, 30s, 5m, 1h or a number of seconds', 10]],
  },
  {
    title: 'negative duration',
    yaml: HEAD + 'execution:\n  commit_interval: -5\n',
    expect: [['execution.commit_interval', 'must not be negative', 10]],
  },
  {
    title: 'zero timeouts',
    yaml: HEAD + 'transport:\n  timeout: 0\n  connect_timeout: 0ms\n',
    expect: [
      ['transport.timeout', 'must be more than 0', 10],
      ['transport.connect_timeout', 'must be more than 0', 11],
    ],
  },
  {
    title: 'YAML infinity is not a count',
    yaml: HEAD + 'transport:\n  connections: .inf\n',
    expect: [['transport.connections', 'expected a number, got Infinity', 10]],
  },
  {
    title: 'bad size',
    yaml: HEAD + 'transport:\n  max_response_bytes: 10 MiBs\n',
    expect: [['transport.max_response_bytes', '"10 MiBs" is not a size; use e.g. 10MB, 512KiB, 1GB or a number of bytes', 10]],
  },
  {
    title: 'max_response_bytes over 256MB',
    yaml: HEAD + 'transport:\n  max_response_bytes: 1GB\n',
    expect: [
      [
        'transport.max_response_bytes',
        'must be at most 256MB (256000000 bytes): a result row holds the body JSON-escaped, in a line of up to twice its size, and a longer line than that cannot be built or read back',
        10,
      ],
    ],
  },
  {
    title: 'bad success_status entry',
    yaml: HEAD + 'response:\n  success_status: [2xx, "600", nope]\n',
    expect: [
      ['response.success_status[1]', 'status "600" is outside 100-599', 10],
      ['response.success_status[2]', '"nope" is not a status; use a code (200), a range ("200-299") or a class ("2xx")', 10],
    ],
  },
  {
    title: 'body with two kinds',
    yaml: HEAD.replace('  url:', '  body:\n    json: {a: 1}\n    text: hi\n  url:'),
    expect: [['request.body', 'has json and text; give exactly one of json, text or form', 6]],
  },
  {
    title: 'body with none',
    yaml: HEAD.replace('  url:', '  body: {}\n  url:'),
    expect: [['request.body', 'needs exactly one of json, text or form', 6]],
  },
  {
    title: 'template: unbalanced braces, in a JSON body string',
    yaml: HEAD.replace('  url:', '  body:\n    json: {a: {b: ["{{ x"]}}\n  url:'),
    expect: [['request.body.json.a.b[0]', 'bad template: "{{" at offset 0 is never closed with "}}"', 7]],
  },
  {
    title: 'template: unknown filter in the url',
    yaml: HEAD.replace('{{ id }}', '{{ id | shout }}'),
    expect: [['request.url', 'bad template: unknown filter "shout" (known: url, json, default, upper, lower, trim, base64)', 6]],
  },
  {
    title: 'template: unknown builtin in a header',
    yaml: HEAD.replace('  url:', '  headers:\n    X-Run: "{{ $runid }}"\n  url:'),
    expect: [['request.headers.X-Run', 'bad template: unknown built-in "$runid" (known: $run_id, $request_id, $now)', 7]],
  },
  {
    title: 'an unquoted {{ }} in YAML is a mapping, with a hint',
    yaml: HEAD.replace('  url:', '  query:\n    q: {{ id }}\n  url:'),
    expect: [['request.query.q', 'expected a string, number or boolean, got a mapping; in YAML, quote a value that starts with "{{"', 7]],
  },
  {
    title: 'templated url host without allowed_hosts',
    yaml: HEAD.replace('https://api.example.com/x/{{ id }}', 'https://{{ tenant }}.example.com/x'),
    expect: [['request.allowed_hosts', "is required when the url's host is a template; list the hosts a row may send requests to", 5]],
  },
  {
    title: 'allowed_hosts that exclude the url host, and a URL given as a host',
    yaml: HEAD.replace('  url:', '  allowed_hosts: [other.example.com, "https://x.com/"]\n  url:'),
    expect: [
      [
        'request.allowed_hosts[1]',
        '"https://x.com/" is not a host; give a host name, host:port or *.domain (no scheme or path), e.g. api.example.com',
        6,
      ],
      ['request.allowed_hosts', 'does not include the url\'s host "api.example.com"', 6],
    ],
  },
  // Credentials in the URL: refused at load (the per-row check would fail every row), the
  // message names the key and never the URL, which holds the password.
  {
    title: 'url with a literal user:password@',
    yaml: HEAD.replace('https://api.example.com', 'https://svc:Sup3rS3cretPw@api.example.com'),
    env: { NOT_ECHOED: 'Sup3rS3cretPw' },
    expect: [['request.url', 'must not hold credentials (user:password@ before the host); put them in auth (type: basic)', 6]],
  },
  {
    title: 'url with user:password@ from an environment variable',
    yaml: HEAD.replace('https://api.example.com', '${env:API_BASE}').replace('  url:', '  allowed_hosts: [127.0.0.1]\n  url:'),
    env: { API_BASE: 'http://svc:Sup3rS3cretPw@127.0.0.1:8901' },
    expect: [['request.url', 'must not hold credentials (user:password@ before the host); put them in auth (type: basic)', 7]],
  },
  {
    title: 'url with a user (a token) and no password',
    yaml: HEAD.replace('https://api.example.com', 'https://tok3n-abc@api.example.com'),
    env: { NOT_ECHOED: 'tok3n-abc' },
    expect: [['request.url', 'must not hold credentials (user:password@ before the host); put them in auth (type: basic)', 6]],
  },
  {
    title: 'url with user:password@ before a templated host',
    yaml: HEAD.replace('https://api.example.com/x/{{ id }}', 'https://svc:pw-x1@{{ tenant }}.example.com/x').replace('  url:', '  allowed_hosts: ["*.example.com"]\n  url:'),
    env: { NOT_ECHOED: 'pw-x1' },
    expect: [['request.url', 'must not hold credentials (user:password@ before the host); put them in auth (type: basic)', 7]],
  },
  {
    title: 'url with an unsupported scheme',
    yaml: HEAD.replace('https://api.example.com', 'ftp://api.example.com'),
    expect: [['request.url', 'must use http:// or https://, not ftp://', 6]],
  },
  {
    title: 'middleware: unknown bare type with a suggestion',
    yaml: HEAD + 'middleware:\n  - timng\n',
    expect: [
      [
        'middleware[0].type',
        'unknown middleware type "timng"; expected one of retry, rate_limit, timing, logging, headers, module, adaptive_concurrency, circuit_breaker (did you mean "timing"?)',
        10,
      ],
    ],
  },
  {
    title: 'middleware: option out of range, unknown option, required option missing',
    yaml: HEAD + 'middleware:\n  - timing\n  - type: retry\n    max_attempts: 0\n    max_attemps: 3\n  - rate_limit\n',
    expect: [
      ['middleware[1].max_attempts', 'must be at least 1, got 0', 12],
      ['middleware[1].max_attemps', 'unknown key "max_attemps" (did you mean "max_attempts"?)', 13],
      ['middleware[2].requests_per_second', 'is required', 14],
    ],
  },
  {
    title: 'middleware: module without path, entry that is a number',
    yaml: HEAD + 'middleware:\n  - type: module\n    export: sign\n  - 5\n',
    expect: [
      ['middleware[0].path', 'is required', 10],
      ['middleware[1]', 'expected a mapping, got 5', 12],
    ],
  },
  {
    title: 'auth: basic without password, unknown auth type elsewhere is separate',
    yaml: HEAD + 'auth:\n  type: basic\n  username: u\n',
    expect: [['auth.password', 'is required', 9]],
  },
  {
    title: 'auth: unknown type',
    yaml: HEAD + 'auth:\n  type: oauth\n',
    expect: [
      [
        'auth.type',
        'unknown auth type "oauth"; expected one of none, basic, bearer, oauth2_client_credentials, oauth2_password',
        10,
      ],
    ],
  },
  {
    title: 'auth: oauth2_password needs user, password and a token URL; secrets never echoed',
    yaml: HEAD + 'auth:\n  type: oauth2_password\n  token_url: idp.example.com/token\n  client_id: c\n  client_secret: ${env:CS}\n',
    env: { CS: 'hunter2-secret' },
    expect: [
      ['auth.token_url', '"idp.example.com/token" is not an http(s) URL', 11],
      ['auth.username', 'is required', 9],
      ['auth.password', 'is required', 9],
    ],
  },
  {
    title: 'auth: a field that belongs to another auth type',
    yaml: HEAD + 'auth:\n  type: bearer\n  token: abc\n  username: u\n',
    expect: [['auth.username', 'unknown key "username"; expected one of type, token', 12]],
  },
  {
    title: 'missing environment variable names the variable',
    yaml: HEAD + 'auth:\n  type: bearer\n  token: ${env:RL_TEST_NOPE}\n',
    expect: [['auth.token', 'environment variable RL_TEST_NOPE is not set (referenced as ${env:RL_TEST_NOPE})', 11]],
  },
  {
    title: 'unknown ${...} reference',
    yaml: HEAD + 'auth:\n  type: bearer\n  token: ${TOKEN}\n',
    expect: [
      [
        'auth.token',
        'unknown reference "${TOKEN}": use ${env:NAME} or ${file:path}, or "$${" for a literal "${"; did you mean "${env:TOKEN}"?',
        11,
      ],
    ],
  },
  {
    title: 'unreadable ${file:}',
    yaml: HEAD + 'auth:\n  type: bearer\n  token: ${file:./no-such-token}\n',
    expect: [['auth.token', 'cannot read ${file:./no-such-token}: no such file (<dir>/no-such-token)', 11]],
  },
  {
    title: 'spark engine without spark settings, workers 0, concurrency as text',
    yaml: HEAD + 'execution:\n  engine: spark\n  workers: 0\n  concurrency: lots\n',
    expect: [
      ['execution.spark', 'is required when engine is spark (at least spark.master)', 9],
      ['execution.workers', 'must be at least 1, got 0', 11],
      ['execution.concurrency', 'expected a number, got "lots"', 12],
    ],
  },
  {
    title: 'workers neither auto nor a number',
    yaml: HEAD + 'execution:\n  workers: aut\n',
    expect: [['execution.workers', 'must be "auto" or a whole number of at least 1, got "aut" (did you mean "auto"?)', 10]],
  },
  {
    title: 'extract: bad JSON path, bad type, bad and reserved column names',
    yaml: HEAD + 'response:\n  extract:\n    score: {path: score, type: float}\n    Bad: $.x\n    status_code: $.code\n',
    expect: [
      ['response.extract.score.path', '"score" is not a JSON path; use e.g. $.score, $.items[0].id or $[\'odd key\']', 11],
      ['response.extract.score.type', 'unknown extract type "float"; expected one of string, long, double, boolean, json', 11],
      ['response.extract.Bad', '"Bad" is not a valid column name; use lower-case letters, digits and _ (not starting with a digit)', 12],
      ['response.extract.status_code', '"status_code" is a column restlake writes itself; pick another name', 13],
    ],
  },
  {
    title: 'sink: bad mode and a reserved source column',
    yaml: HEAD + '  mode: upsert\n  source_columns: [id, run_id]\n',
    expect: [
      ['sink.mode', 'unknown sink mode "upsert"; expected one of append, overwrite', 9],
      ['sink.source_columns[1]', '"run_id" is a column restlake writes itself; it cannot be copied from the source', 10],
    ],
  },
  // TLS files are parsed at load: a file that is no certificate or key would fail every
  // row's handshake at run time. Messages name the file, never its contents.
  {
    title: 'tls: key_file that is not a key',
    yaml: HEAD + 'transport:\n  tls:\n    cert_file: ./client.crt\n    key_file: ./bad.key\n',
    env: { NOT_ECHOED: 'SECRETKEYMATERIAL' },
    expect: [['transport.tls.key_file', '<dir>/bad.key is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" block)', 12]],
  },
  {
    title: 'tls: key_file with a PEM block that does not parse',
    yaml: HEAD + 'transport:\n  tls:\n    cert_file: ./client.crt\n    key_file: ./block.key\n',
    env: { NOT_ECHOED: 'SECRETKEYMATERIAL' },
    expect: [['transport.tls.key_file', '<dir>/block.key is not a valid PEM private key', 12]],
  },
  {
    title: 'tls: encrypted key_file',
    yaml: HEAD + 'transport:\n  tls:\n    cert_file: ./client.crt\n    key_file: ./encrypted.key\n',
    expect: [['transport.tls.key_file', '<dir>/encrypted.key holds an encrypted private key; restlake needs it unencrypted (it takes no passphrase)', 12]],
  },
  {
    title: 'tls: key_file of another certificate',
    yaml: HEAD + 'transport:\n  tls:\n    cert_file: ./client.crt\n    key_file: ./server.key\n',
    expect: [['transport.tls.key_file', '<dir>/server.key is not the private key of cert_file <dir>/client.crt', 12]],
  },
  {
    title: 'tls: cert_file and key_file swapped',
    yaml: HEAD + 'transport:\n  tls:\n    cert_file: ./client.key\n    key_file: ./client.crt\n',
    expect: [
      ['transport.tls.cert_file', '<dir>/client.key is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" block)', 11],
      ['transport.tls.key_file', '<dir>/client.crt is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" block)', 12],
    ],
  },
  {
    title: 'tls: ca_file that is not a certificate',
    yaml: HEAD + 'transport:\n  tls:\n    ca_file: ./bad.crt\n',
    env: { NOT_ECHOED: 'SECRETKEYMATERIAL' },
    expect: [['transport.tls.ca_file', '<dir>/bad.crt is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" block)', 11]],
  },
  {
    title: 'tls: ca_file whose second certificate does not parse',
    yaml: HEAD + 'transport:\n  tls:\n    ca_file: ./second-bad-ca.crt\n',
    env: { NOT_ECHOED: 'SECRETKEYMATERIAL' },
    expect: [['transport.tls.ca_file', '<dir>/second-bad-ca.crt holds a certificate that does not parse (number 2 of 2)', 11]],
  },
  {
    title: 'tls: cert without key',
    yaml: HEAD + 'transport:\n  tls:\n    cert_file: ./exists.pem\n',
    expect: [['transport.tls.key_file', 'is required with cert_file (mTLS needs both)', 10]],
  },
  {
    title: 'files the run reads at its start must be there: TLS material, a middleware module',
    yaml: HEAD + 'transport:\n  tls:\n    ca_file: ./nosuch-ca.pem\nmiddleware:\n  - { type: module, path: ./nosuch.mjs }\n  - { type: module, path: ./adir }\n',
    expect: [
      ['transport.tls.ca_file', 'cannot read <dir>/nosuch-ca.pem: no such file', 11],
      ['middleware[0].path', 'cannot read <dir>/nosuch.mjs: no such file', 13],
      ['middleware[1].path', 'cannot read <dir>/adir: is a directory', 14],
    ],
  },
  {
    title: 'source: format cannot be told',
    yaml: HEAD.replace('./rows.csv', './rows.dat'),
    expect: [
      [
        'source.format',
        '"<dir>/rows.dat" does not exist and its name has no known extension, so its format is unknown; set source.format to parquet, csv, json or delta',
        3,
      ],
    ],
  },
  {
    title: 'source: an encoding DuckDB cannot decode, with a suggestion',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  path: ./rows.csv\n  encoding: latin1\n'),
    expect: [['source.encoding', 'unknown source encoding "latin1"; expected one of utf-8, utf-16, latin-1 (did you mean "latin-1"?)', 5]],
  },
  {
    title: 'source: an encoding for a format that has its own (detected from the extension)',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  path: ./rows.jsonl\n  encoding: latin-1\n'),
    expect: [['source.encoding', "applies to csv sources only; a json source's encoding is fixed by its format", 5]],
  },
  {
    title: 'source: an encoding with an explicit non-csv format',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  path: ./rows.dat\n  format: parquet\n  encoding: utf-16\n'),
    expect: [['source.encoding', "applies to csv sources only; a parquet source's encoding is fixed by its format", 6]],
  },
  {
    title: 'source: an encoding for a catalog table',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  table: main.sales.orders\n  encoding: latin-1\n') + 'execution:\n  engine: spark\n  spark: { master: "local[2]" }\n',
    expect: [['source.encoding', 'does not apply to a catalog `table` source', 5]],
  },
  {
    title: 'source: both path and table',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  path: ./rows.csv\n  table: main.sales.orders\n') + 'execution:\n  engine: spark\n  spark: { master: "local[2]" }\n',
    expect: [['source', 'give `path` or `table`, not both', 3]],
  },
  {
    title: 'source: a catalog table on the local engine',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  table: main.sales.orders\n'),
    expect: [['source.table', 'a catalog table source needs execution.engine: spark (the local engine reads paths)', 4]],
  },
  {
    title: 'source: neither path nor table',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  key: id\n') + 'execution:\n  engine: spark\n  spark: { master: "local[2]" }\n',
    expect: [['source', 'needs `path` (a file, directory or table path) or `table` (a catalog table)', 3]],
  },
  {
    title: 'source: a table name that is not one',
    yaml: HEAD.replace('  path: ./rows.csv\n', '  table: "a.b.c.d"\n') + 'execution:\n  engine: spark\n  spark: { master: "local[2]" }\n',
    expect: [['source.table', '"a.b.c.d" is not a table name; expected table, schema.table or catalog.schema.table', 4]],
  },
  {
    title: 'type errors: string for a list, number for a boolean, list for a mapping',
    yaml: HEAD.replace('  url:', '  headers: [a]\n  url:') + '  source_columns: id\nexecution:\n  resume: 1\n',
    expect: [
      ['request.headers', 'expected a mapping, got a list', 6],
      ['sink.source_columns', 'expected a list, got "id"', 10],
      ['execution.resume', 'expected true or false, got 1', 12],
    ],
  },
  {
    title: 'a union that matches no form says which forms it takes',
    yaml: HEAD.replace('  path: ./rows.csv', '  path: ./rows.csv\n  key: 5'),
    expect: [['source.key', 'expected a string or a list, got 5', 5]],
  },
  {
    title: 'duplicate header in different case',
    yaml: HEAD.replace('  url:', '  headers:\n    Accept: a\n    accept: b\n  url:'),
    expect: [['request.headers.accept', 'header "accept" is given twice (header names ignore case)', 8]],
  },
  {
    title: 'a header that idempotency_header also sets; a key column listed twice',
    yaml: HEAD.replace('  url:', '  headers: { idempotency-key: x }\n  idempotency_header: Idempotency-Key\n  url:').replace(
      '  path: ./rows.csv',
      '  path: ./rows.csv\n  key: [id, region, id]',
    ),
    expect: [
      ['source.key[2]', '"id" is listed twice', 5],
      ['request.headers.idempotency-key', 'is also set by idempotency_header; keep one', 7],
    ],
  },
  {
    title: 'duplicate YAML key',
    yaml: HEAD + 'name: u\n',
    expect: [['', 'invalid YAML: key "name" appears twice in one mapping', 9]],
  },
  {
    title: 'a tag from another tool is refused, not dropped',
    yaml: HEAD.replace('  url:', '  headers: { X-Api: !env API_KEY }\n  url:'),
    expect: [['', 'Unresolved tag: !env; restlake reads plain YAML: write ${env:NAME} for an environment variable, ${file:path} for a file', 6]],
  },
  {
    title: 'source: every problem of the block at once',
    yaml: HEAD.replace('  path: ./rows.csv', '  path: ./rows.txt\n  limit: 0\n  key: [id, id]'),
    expect: [
      ['source.limit', 'must be at least 1, got 0', 5],
      ['source.format', '"<dir>/rows.txt" does not exist and its name has no known extension, so its format is unknown; set source.format to parquet, csv, json or delta', 3],
      ['source.key[1]', '"id" is listed twice', 6],
    ],
  },
  {
    title: 'sink: the source table itself',
    yaml: HEAD.replace('  path: ./rows.csv', '  path: ./same\n  format: delta').replace('sink:\n  path: ./lake', 'sink:\n  path: ./same/\n  mode: overwrite'),
    expect: [['sink.path', `is the source table (<dir>/same); ${OWN_TABLE}`, 9]],
  },
  {
    title: 'sink: inside a source directory',
    yaml: HEAD.replace('  path: ./rows.csv', '  path: ./in\n  format: parquet').replace('sink:\n  path: ./lake', 'sink:\n  path: ./in/results'),
    expect: [['sink.path', `is inside the source (<dir>/in); ${OWN_TABLE}`, 9]],
  },
  {
    title: 'sink: around a source file',
    yaml: HEAD.replace('  path: ./rows.csv', '  path: ./lake/rows.csv'),
    expect: [['sink.path', `contains the source (<dir>/lake/rows.csv); ${OWN_TABLE}`, 8]],
  },
  {
    title: 'sink: the directory a glob source reads (a sibling directory is fine)',
    yaml: HEAD.replace('  path: ./rows.csv', '  path: "./lake/*.csv"'),
    expect: [['sink.path', `is the directory the source reads (<dir>/lake/*.csv); ${OWN_TABLE}`, 8]],
  },
  {
    title: 'a headers middleware that sets the idempotency header',
    yaml: HEAD.replace('  url:', '  idempotency_header: X-Idem\n  url:') + 'middleware:\n  - type: headers\n    set: { x-idem: fixed }\n',
    expect: [['middleware[0].set.x-idem', "is also request.idempotency_header, which sends each row's own key; keep one", 12]],
  },
  {
    title: 'spark.speculation on would send requests twice',
    yaml: HEAD + 'execution:\n  engine: spark\n  spark:\n    master: "local[2]"\n    conf: { spark.speculation: true }\n',
    expect: [['execution.spark.conf["spark.speculation"]', 'must be false: a speculative copy of a task would send its requests a second time', 13]],
  },
  {
    title: 'two YAML documents',
    yaml: HEAD + '---\nversion: 1\n',
    expect: [['', 'invalid YAML: the file holds more than one YAML document (a "---" line); a pipeline config is one document', 9]],
  },
  {
    title: 'aliases that expand to too much',
    yaml:
      HEAD +
      'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n' +
      Array.from({ length: 7 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]\n`).join(''),
    expect: [['', 'invalid YAML: Excessive alias count indicates a resource exhaustion attack (aliases expand to too much)']],
  },
  {
    title: 'durations a timer cannot hold',
    yaml: HEAD + 'execution:\n  commit_interval: 1000h\nmiddleware:\n  - type: retry\n    max_delay: 2147484\n',
    expect: [
      ['execution.commit_interval', '"1000h" is too long; a duration can be at most 596h (about 24.8 days)', 10],
      ['middleware[0].max_delay', '2147484 is too long; a duration can be at most 596h (about 24.8 days)', 13],
    ],
  },
  {
    title: 'broken YAML',
    yaml: 'version: 1\nname: [t\n',
    expect: [['', 'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]', 3]],
  },
  {
    title: 'not a mapping at all',
    yaml: '- a\n- b\n',
    expect: [['', 'the config must be a mapping of keys (version, name, source, request, sink, ...)', 1]],
  },
];

let tmp: TempDir;
before(async () => {
  tmp = await tempDir();
  // Real TLS material (the loader parses it) and files that only look like it.
  const certs = makeCerts();
  for (const [f, from] of [['exists.pem', certs.clientCert], ['client.crt', certs.clientCert], ['client.key', certs.clientKey], ['server.key', certs.serverKey], ['ca.crt', certs.caCert]]) {
    await tmp.write(f!, await readFile(from!, 'utf8'));
  }
  const ca = await readFile(certs.caCert, 'utf8');
  certs.cleanup();
  await tmp.write('bad.key', 'not-a-key SECRETKEYMATERIAL\n');
  await tmp.write('block.key', '-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n');
  const encrypted = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'SECRETKEYMATERIAL' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await tmp.write('encrypted.key', encrypted.privateKey);
  await tmp.write('bad.crt', 'SECRETKEYMATERIAL\n');
  await tmp.write('second-bad-ca.crt', ca + '-----BEGIN CERTIFICATE-----\nSECRETKEYMATERIAL\n-----END CERTIFICATE-----\n');
  await tmp.write('adir/x', '');
});
after(async () => {
  await tmp.cleanup();
});

for (const [i, c] of cases.entries()) {
  test(`invalid config: ${c.title}`, async () => {
    const file = await tmp.write(`case-${i}.yaml`, c.yaml);
    const issues = await issuesOf(file, { env: c.env ?? {} });
    const got = issues.map((x) => {
      assert.equal(x.file, file);
      const row: Expected = [x.path, x.message.split(tmp.dir).join('<dir>')];
      if (x.line !== undefined) row.push(x.line);
      return row;
    });
    assert.deepEqual(
      [...got].sort((a, b) => a[0].localeCompare(b[0])),
      [...c.expect].sort((a, b) => a[0].localeCompare(b[0])),
    );
    for (const secret of Object.values(c.env ?? {})) {
      assert.ok(!issues.some((x) => x.message.includes(secret)), 'a secret leaked into a message');
    }
  });
}

test('the table has at least 25 cases', () => {
  assert.ok(cases.length >= 25, String(cases.length));
});

test('ConfigError: code, and a message listing every issue as file:line: path: message', async () => {
  const file = await tmp.write('two.yaml', HEAD + 'transport:\n  timeout: soon\n  connections: 0\n');
  await assert.rejects(loadConfig(file, { env: {} }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'RESTLAKE_CONFIG');
    assert.equal(
      e.message,
      `${file}:10: transport.timeout: "soon" is not a duration; use e.g. 250ms, 30s, 5m, 1h or a number of seconds\n` +
        `${file}:11: transport.connections: must be at least 1, got 0`,
    );
    return true;
  });
});

test('issues come sorted by line', async () => {
  const file = await tmp.write('order.yaml', 'execution:\n  workers: 0\nversion: 3\nname: X\n');
  const issues = await issuesOf(file, { env: {} });
  const lines = issues.map((i) => i.line ?? Infinity);
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
  // Missing sections point at line 1 (the document), then the rest in file order.
  assert.deepEqual(
    issues.map((i) => `${i.line}:${i.path}`),
    ['1:source', '1:request', '1:sink', '2:execution.workers', '3:version', '4:name'],
  );
});

test('a missing config file and a wrong extension', async () => {
  const missing = `${tmp.dir}/nope.yaml`;
  assert.deepEqual(await issuesOf(missing), [{ path: '', message: 'cannot read config file: no such file', file: missing }]);
  const txt = await tmp.write('x.txt', HEAD);
  assert.deepEqual(await issuesOf(txt), [{ path: '', message: 'config file must end in .yaml, .yml or .json (got ".txt")', file: txt }]);
});

test('JSON configs get line numbers too', async () => {
  const file = await tmp.write(
    'c.json',
    JSON.stringify({ version: 1, name: 't', source: { path: './r.csv' }, request: { url: 'https://a.b/{{ id }}', methd: 'GET' }, sink: { path: './l' } }, null, 2),
  );
  assert.deepEqual(await issuesOf(file, { env: {} }), [
    { path: 'request.methd', message: 'unknown key "methd" (did you mean "method"?)', line: 9, file },
  ]);
  const broken = await tmp.write('b.json', '{\n  "version": 1,\n  "name": "t",\n}\n');
  const [issue] = await issuesOf(broken);
  assert.equal(issue.line, 4);
  assert.match(issue.message, /^invalid JSON: /);
});

test('a JSON config: a key given twice is refused (JSON.parse would keep the last), a byte-order mark is skipped', async () => {
  const twice = await tmp.write('twice.json', '{\n  "version": 1,\n  "request": {"url": "https://a.b/{{ id }}",\n    "method": "POST", "method": "DELETE"}\n}\n');
  assert.deepEqual(await issuesOf(twice, { env: {} }), [
    { path: '', message: 'invalid JSON: key "method" appears twice in one mapping', line: 4, file: twice },
  ]);
  const config = { version: 1, name: 't', source: { path: './r.csv' }, request: { url: 'https://a.b/{{ id }}', methd: 'GET' }, sink: { path: './l' } };
  const bom = await tmp.write('bom.json', '\uFEFF' + JSON.stringify(config, null, 2));
  assert.deepEqual(await issuesOf(bom, { env: {} }), [{ path: 'request.methd', message: 'unknown key "methd" (did you mean "method"?)', line: 9, file: bom }]);
});
