// The one error a source with unreadable lines ends in, whatever found them (DuckDB's
// CSV rejects, the JSON-lines scan): the file, the line, why, and what the line says,
// for the first few, and how many there are in all. Nothing is sent from such a source:
// a dropped or padded row would be a request silently not made, or made with nulls.
import { RunError } from '../errors.js';

export interface BadLine {
  file: string;
  line: number;
  reason: string;
  /** The line's text (its first physical line), as found. */
  text: string;
}

/** How many bad lines an error lists; the rest are counted. */
export const SHOWN_BAD_LINES = 5;
const EXCERPT_CHARS = 80;

function excerpt(text: string): string {
  const first = text.split(/\r?\n/)[0] ?? '';
  return JSON.stringify(first.length > EXCERPT_CHARS ? first.slice(0, EXCERPT_CHARS) + '…' : first);
}

/**
 * The RunError for `total` bad lines of which `shown` are the first ones (at most
 * SHOWN_BAD_LINES); `hint` is a last line saying what to do, when there is one thing.
 */
export function badLinesError(path: string, format: string, shown: readonly BadLine[], total: number, hint?: string): RunError {
  const what = total === 1 ? '1 line that cannot be read' : `${total} lines that cannot be read`;
  return listedSourceError(
    `cannot read source ${path} (${format}): ${what}; nothing was sent`,
    shown.map((b) => `${b.file} line ${b.line}: ${b.reason}: ${excerpt(b.text)}`),
    total,
    hint,
  );
}

/**
 * A source refused for what it holds: `head`, then the first SHOWN_BAD_LINES of
 * `entries` (of `total` in all) indented, how many more there are, and `hint`.
 */
export function listedSourceError(head: string, entries: readonly string[], total: number, hint?: string): RunError {
  const lines = entries.slice(0, SHOWN_BAD_LINES).map((e) => `  ${e}`);
  if (total > lines.length) lines.push(`  … and ${total - lines.length} more`);
  if (hint) lines.push(`  ${hint}`);
  return new RunError('RESTLAKE_SOURCE', `${head}\n${lines.join('\n')}`, { multiline: true });
}
