// Which rendered header values HTTP can carry: a field value (RFC 9110 §5.5) is HTAB,
// space and visible ASCII, and obs-text (0x80-0xFF, one byte each on the wire). A line
// break or NUL would inject a header; another control character, DEL or a character
// above U+00FF (日本語, which has no one-byte form) undici refuses at send time, and
// its error would fail the row as `internal` without saying which header. Checked when
// the value is rendered instead, so the row fails as `template`, naming the header.
// One regex test per value, the same rule undici applies (its headerCharRegex).
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Null when `value` can be sent as a header value, else what is wrong with it (for a message). */
export function headerValueProblem(value: string): string | null {
  if (!NOT_FIELD_VALUE.test(value)) return null;
  const at = value.search(NOT_FIELD_VALUE);
  const code = value.codePointAt(at)!;
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  const what = code === 10 || code === 13 ? ', a line break,' : code === 0 ? ', NUL,' : '';
  return `the rendered value has a character HTTP headers cannot carry (U+${hex}${what} at ${at})`;
}
