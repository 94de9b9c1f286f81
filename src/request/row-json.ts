// Rows reach a worker as JSON lines: built by DuckDB locally, by Spark's to_json under
// Spark. JSON.parse rounds a number beyond 2^53: an id of 1234567890123456789 would be
// sent as …800, and recorded as that row's success. Such integers become BigInts, digit
// for digit: templates render them as the same digits, a JSON body keeps them numbers,
// and the result line writes them back as numbers (request/body.ts, worker/result.ts).

// Only a line with a number of 16 digits or more can hold one; the rest (nearly all)
// parse as they are. A JSON number follows ':', ',' or '[' (maybe after whitespace), so
// the test skips digit runs inside strings such as the request_id's hex, which sent ~1%
// of lines down the slow path, and takes ~0.1 instead of ~0.3 µs a line. A string that
// holds ":1234567890123456" still matches, and markWideIntegers leaves strings alone.
const DIGIT_RUN = /[:,[]\s*-?\d{16}/;
const INTEGER = /^-?\d+$/;
// What a wide integer is turned into before JSON.parse: a string no row holds (its
// first character is a control character JSON can only carry escaped).
const WIDE_MARK = '\u0001wide:';
const WIDE_MARK_JSON = '\\u0001wide:';

/** JSON.parse of a row line, with integers JavaScript cannot hold exactly as BigInts. */
export function parseRowJson(line: string): unknown {
  if (!DIGIT_RUN.test(line)) return JSON.parse(line);
  const marked = markWideIntegers(line);
  if (marked === line) return JSON.parse(line);
  return JSON.parse(marked, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(WIDE_MARK) ? BigInt(value.slice(WIDE_MARK.length)) : value,
  );
}

/** `text` (JSON) with every integer literal beyond ±(2^53-1) turned into a marked string; strings are left alone. */
function markWideIntegers(text: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Skip the string, escapes included.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        // digits, '.', 'e', 'E', '+', '-': the rest of a JSON number
        if (!((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45)) break;
      }
      const token = text.slice(start, i);
      if (token.length >= 16 && INTEGER.test(token) && !Number.isSafeInteger(Number(token))) {
        out += text.slice(copied, start) + '"' + WIDE_MARK_JSON + token + '"';
        copied = i;
      }
    } else i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
