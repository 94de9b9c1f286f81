// Test helpers for the config layer (not used at runtime): temp dirs with config
// files, and loading that returns the issues instead of throwing.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { loadConfig, type LoadOptions } from './load.js';
import type { PipelineConfig } from './types.js';

export interface TempDir {
  dir: string;
  /** Writes `text` to `rel` (creating folders) and returns its absolute path. */
  write(rel: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-config-'));
  return {
    dir,
    async write(rel, text) {
      const p = join(dir, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, text);
      return p;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Loads and returns the ConfigError's issues; fails if the config loads. */
export async function issuesOf(input: string | object, opts?: LoadOptions): Promise<ConfigIssue[]> {
  let config: PipelineConfig;
  try {
    config = await loadConfig(input, opts);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error(`expected a ConfigError, but the config loaded: ${JSON.stringify(config).slice(0, 300)}`);
}

/** A minimal valid config as YAML, to which a test appends or replaces sections. */
export const MINIMAL_YAML = `version: 1
name: t
source:
  path: ./rows.csv
request:
  url: "https://api.example.com/x/{{ id }}"
sink:
  path: ./lake
`;
