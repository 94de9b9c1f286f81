// Key paths as users read and write them: `request.method`, `middleware[2].max_attempts`,
// `execution.spark.conf["spark.executor.memory"]`.

export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      out += PLAIN_KEY.test(key) ? (out ? '.' : '') + key : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/**
 * Parse a key path: `.`-separated keys, `[n]` indexes, and `["any key"]` / `['any key']`
 * for keys holding dots or brackets. Throws an Error with a human message on bad syntax.
 */
export function parsePath(text: string): PathSegment[] {
  const segs: PathSegment[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`bad key path "${text}": ${why}`);
  };
  if (!text) fail('empty');
  while (i < text.length) {
    if (text[i] === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) fail(`"[" at ${i} is never closed`);
      const inner = text.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) segs.push(Number(inner));
      else if (/^(".*"|'.*')$/.test(inner)) segs.push(inner.slice(1, -1));
      else fail(`"[${inner}]" is neither an index nor a quoted key`);
      i = close + 1;
      if (i < text.length && text[i] !== '.' && text[i] !== '[') fail(`expected "." or "[" after "]" at ${i}`);
      if (text[i] === '.') {
        i++;
        if (i >= text.length) fail('ends with "."');
      }
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== '.' && text[j] !== '[') j++;
    const key = text.slice(i, j);
    if (!key) fail(`empty key at ${i}`);
    segs.push(key);
    i = j;
    if (text[i] === '.') {
      i++;
      if (i >= text.length) fail('ends with "."');
    }
  }
  return segs;
}

/** Whether `path` starts with `prefix`. */
export function pathStartsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => String(s) === String(path[i]));
}
