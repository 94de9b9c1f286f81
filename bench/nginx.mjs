// The benchmark's HTTP server: nginx, so the server is never what we measure.
// /fast/…  a fixed tiny JSON body          (CPU-bound scenario)
// /slow/…  the same after 50 ms (echo_sleep) (latency-bound scenario)
// /big/…   a fixed ~10 KB JSON body        (extract scenario)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './util.mjs';

export const TINY_BODY = '{"ok":true,"score":0.42}';

function bigBody() {
  const items = [];
  for (let i = 0; items.join(',').length < 10_000; i++) items.push(JSON.stringify({ i, name: `item-${i}`, tags: ['a', 'b', 'c'], value: i * 1.5 }));
  return `{"ok":true,"score":0.42,"data":{"items":[${items.join(',')}]}}`;
}

export async function startNginx({ workers = 1 } = {}) {
  const prefix = mkdtempSync(join(tmpdir(), 'restlake-bench-nginx-'));
  const port = await freePort();
  writeFileSync(join(prefix, 'big.json'), bigBody());
  const echo = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
  if (!existsSync(echo)) throw new Error('nginx echo module missing: run bench/setup.sh');
  const conf = `
user root;
worker_processes ${workers};
load_module ${echo};
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
daemon off;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port} backlog=8192;
    location /fast/ { default_type application/json; return 200 '${TINY_BODY}'; }
    location /slow/ { default_type application/json; echo_sleep 0.05; echo -n '${TINY_BODY}'; }
    location /big/ { default_type application/json; root ${prefix}; try_files /big.json =404; }
  }
}`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    await waitForPort(port, 5000);
  } catch (e) {
    child.kill('SIGKILL');
    const log = existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : '';
    throw new Error(`nginx did not start: ${stderr}${log}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill('SIGQUIT');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
