// Values rendered into the URL path, the query and a form body arrive at a real server
// exactly as they were in the row, whatever characters they hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../middleware/test-support.js';
import { httpServer, readBody } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { createRowProcessor } from './execute.js';
import { testConfig } from './test-support.js';

const values = ['plain', 'a/b', 'a?b=c', 'a#frag', 'a b', 'a+b', 'a%2Fb', '100%', 'ü', 'Zürich ✓', '😀', '&=&', `'"<>`, '..x', 'back\\slash', '@evil.com', 'x:y', ';,', '~*!()'];

test('path segment, query value and form field round-trip through a real server', async () => {
  const got: { path: string; q: string | null; form: string | null }[] = [];
  const srv = await httpServer(async (req, res) => {
    const u = new URL(req.url!, 'http://x');
    const seg = u.pathname.split('/')[2];
    got.push({ path: decodeURIComponent(seg), q: u.searchParams.get('q'), form: new URLSearchParams(await readBody(req)).get('f') });
    res.end('{}');
  });
  const config = testConfig({
    request: {
      method: 'POST',
      url: `${srv.url}/items/{{ v }}/end`,
      query: { q: '{{ v }}' },
      body: { kind: 'form', template: { f: '{{ v }}' } },
      allowed_hosts: [`127.0.0.1:${srv.port}`],
    },
  });
  const transport = createTransport(config.transport);
  try {
    const process = await createRowProcessor(config, testRuntime(), transport);
    for (const v of values) {
      const r = await process({ v }, 'rid');
      assert.equal(r.success, true, `${v}: ${r.error_message}`);
    }
    assert.deepEqual(
      got,
      values.map((v) => ({ path: v, q: v, form: v })),
    );
  } finally {
    await transport.close();
    await srv.close();
  }
});
