// Small argument helpers shared by the built-in commands (node:util parseArgs does the parsing).
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage mistake: exit 2 with the message and the command's usage. */
export class UsageError extends Error {}

/** `--help` or `-h` among a command's arguments: its usage on stdout, exit 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super(usage);
  }
}

export function parse<T extends ParseArgsConfig['options']>(
  args: string[],
  options: T,
  usage: string,
): { values: Record<string, unknown>; positionals: string[] } {
  // Before the parse, so `run --help` is help and not "unknown option" (a `--` ends options).
  const end = args.indexOf('--');
  const flags = end === -1 ? args : args.slice(0, end);
  if (flags.includes('--help') || flags.includes('-h')) throw new HelpRequested(usage);
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, unknown>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${usage}`);
  }
}

export function positiveInt(value: unknown, flag: string, usage: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${String(value)}"\n${usage}`);
  return n;
}
