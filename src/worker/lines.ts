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

/** The same for raw bytes: lines stay Buffers (slices of the chunk, no decoding). */
export class BufferLineSplitter {
  private rest: Buffer | null = null;

  push(chunk: Buffer): Buffer[] {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      lines.push(data.subarray(start, nl));
      start = nl + 1;
    }
    // Copy the tail so the chunk it came from can be freed.
    this.rest = start < data.length ? Buffer.from(data.subarray(start)) : null;
    return lines;
  }
}
