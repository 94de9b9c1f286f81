// Shared by run/validate/plan: `<config> [--set key=value]...`.
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { PipelineConfig } from '../config/types.js';
import { UsageError } from './args.js';
import type { CommandIO } from './commands.js';

export function configPath(positionals: string[], io: CommandIO, usage: string): string {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `missing <config>\n${usage}` : `unexpected arguments: ${positionals.slice(1).join(' ')}\n${usage}`);
  return resolve(io.cwd, positionals[0] as string);
}

export function setValues(v: unknown): string[] {
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
}

export function loadFromArgs(path: string, set: string[]): Promise<PipelineConfig> {
  return loadConfig(path, { set });
}
