// Splits a stream of text chunks into lines. Hand-rolled rather than readline:
// it is on the hot path (one call per stdin chunk, not per row) and must let the
// caller pause the underlying stream between chunks for backpressure.
export class LineSplitter {
  private rest = '';

  /** Complete lines in `chunk` (without the newline); an unfinished tail is kept for the next call. */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }

  /** The unterminated last line at end of input, if any. */
  end(): string | null {
    const last = this.rest;
    this.rest = '';
    return last.length > 0 ? last : null;
  }
}
