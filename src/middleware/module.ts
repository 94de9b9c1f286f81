// module: user middleware from a file, with exactly the interface the built-ins use.
//   - type: module
//     path: ./middleware/sign.ts      # .ts/.mts (transpiled with esbuild), .js/.mjs/.cjs
//     export: sign                    # a MiddlewareFactory; `default` when omitted
//     options: { key_id: abc }        # the factory's first argument
// A TypeScript file is transpiled (esbuild `transform`, types stripped, no type check)
// to a temporary .mjs next to it, so its relative imports and node_modules resolve as
// they would for the .ts, imported, and the temporary file removed. Only that one
// file is transpiled: a .ts that imports other .ts files should be bundled first.
// Any problem (no file, no export, not a factory, factory throws) is a config-time
// RestlakeError RESTLAKE_MIDDLEWARE_MODULE, raised while the worker builds its chain.
import { randomBytes } from 'node:crypto';
import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RestlakeError } from '../errors.js';
import { createRedactor } from './redact.js';
import type { Middleware, MiddlewareFactory, MiddlewareRuntime } from './types.js';

export interface ModuleOptions {
  path: string;
  export?: string;
  options?: Record<string, unknown>;
}

export class MiddlewareModuleError extends RestlakeError {
  constructor(
    readonly path: string,
    /** What went wrong, after the path. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super('RESTLAKE_MIDDLEWARE_MODULE', `middleware module ${path}: ${detail}`, options);
  }
}

const loaded = new Map<string, Promise<Record<string, unknown>>>();

export const moduleMiddleware: MiddlewareFactory<ModuleOptions> = async (options, runtime) => {
  try {
    const factory = await loadMiddlewareFactory(options.path, options.export ?? 'default');
    return await instantiate(factory, options, runtime);
  } catch (err) {
    // A module's top level and its factory see secrets (the environment, the options)
    // and may quote them ("SIGN_KEY must be 8 hex digits, got …"): `run` and `plan`
    // print this message, so it is redacted here, where the run's secrets are known
    // (loading is cached per process, for every runtime), and the original error,
    // which holds the clear text, is not kept as the cause.
    if (!(err instanceof MiddlewareModuleError)) throw err;
    throw new MiddlewareModuleError(err.path, createRedactor(runtime.secrets).text(err.detail));
  }
};

/** Loads (once per process and path) and returns the named export, checked to be a function. */
export async function loadMiddlewareFactory(path: string, exportName: string): Promise<MiddlewareFactory<Record<string, unknown>>> {
  let mod = loaded.get(path);
  if (!mod) {
    mod = importModule(path);
    loaded.set(path, mod);
    mod.catch(() => loaded.delete(path));
  }
  const ns = await mod;
  if (!Object.hasOwn(ns, exportName)) {
    const names = Object.keys(ns).filter((k) => k !== '__esModule');
    throw new MiddlewareModuleError(path, `has no export "${exportName}" (it exports: ${names.length ? names.join(', ') : 'nothing'})`);
  }
  const factory = ns[exportName];
  if (typeof factory !== 'function') {
    throw new MiddlewareModuleError(path, `export "${exportName}" is a ${typeof factory}, not a MiddlewareFactory function (options, runtime) => middleware`);
  }
  return factory as MiddlewareFactory<Record<string, unknown>>;
}

async function instantiate(factory: MiddlewareFactory<Record<string, unknown>>, options: ModuleOptions, runtime: MiddlewareRuntime): Promise<Middleware> {
  let mw: unknown;
  try {
    mw = await factory(options.options ?? {}, runtime);
  } catch (err) {
    throw new MiddlewareModuleError(options.path, `factory "${options.export ?? 'default'}" threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  if (typeof mw !== 'function') {
    throw new MiddlewareModuleError(options.path, `factory "${options.export ?? 'default'}" returned a ${mw === null ? 'null' : typeof mw}, not a middleware (ex, next) => Promise<void>`);
  }
  return mw as Middleware;
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new MiddlewareModuleError(path, 'is not a file');
  } catch (err) {
    if (err instanceof MiddlewareModuleError) throw err;
    throw new MiddlewareModuleError(path, 'file not found', { cause: err });
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs') return importOrExplain(path, pathToFileURL(path).href);
  if (ext === '.ts' || ext === '.mts') return importTypeScript(path);
  throw new MiddlewareModuleError(path, `unsupported extension "${ext}" (use .ts, .mts, .js, .mjs or .cjs)`);
}

async function importTypeScript(path: string): Promise<Record<string, unknown>> {
  let transform: typeof import('esbuild').transform;
  try {
    ({ transform } = await import('esbuild'));
  } catch (err) {
    throw new MiddlewareModuleError(path, 'TypeScript needs esbuild, which is not installed here; ship the middleware as .mjs instead', { cause: err });
  }
  let code: string;
  try {
    const source = await readFile(path, 'utf8');
    const out = await transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: path, sourcemap: 'inline' });
    code = out.code;
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors?.[0];
    const where = first?.location ? ` (line ${first.location.line}, column ${first.location.column})` : '';
    throw new MiddlewareModuleError(path, `cannot transpile: ${first?.text ?? (err as Error).message}${where}`, { cause: err });
  }
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const beside = join(dirname(path), `.${basename(path, extname(path))}.restlake-${tag}.mjs`);
  let file = beside;
  try {
    await writeFile(beside, code);
  } catch {
    // A read-only directory (e.g. shipped files): relative imports will not resolve, bare ones may.
    file = join(tmpdir(), `restlake-mw-${tag}.mjs`);
    await writeFile(file, code);
  }
  try {
    return await importOrExplain(path, pathToFileURL(file).href);
  } finally {
    await unlink(file).catch(() => {});
  }
}

async function importOrExplain(path: string, url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new MiddlewareModuleError(path, `cannot be loaded: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
