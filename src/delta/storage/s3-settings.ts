// How restlake reaches S3: settings from the standard AWS environment (plus one restlake knob), and the
// S3 clients built from them. Credentials are never read here: the SDK's default provider chain finds
// them (AWS_ACCESS_KEY_ID/..., AWS_PROFILE and ~/.aws files, SSO, web identity, ECS/IMDS), so no secret
// ever passes through restlake's own code, messages or logs.
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { perUserTempDir } from '../../private-dir.js';
import { DeltaError } from '../errors.js';

export interface S3Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export interface S3Settings {
  /** Custom endpoint (S3-compatible servers); undefined = AWS. From AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** From AWS_REGION / AWS_DEFAULT_REGION; undefined = the profile's region, else us-east-1. */
  region?: string;
  /** Path-style addressing (http://host/bucket/key). RESTLAKE_S3_PATH_STYLE; default: on iff an endpoint is set. */
  forcePathStyle: boolean;
  /**
   * Where localPath() keeps downloaded objects. RESTLAKE_S3_CACHE_DIR; default <tmpdir>/restlake-s3-cache-<uid>.
   * Private to the user: created 0700 and used only while it is ours and not group/world-writable.
   */
  cacheDir: string;
  /** Explicit credentials (tests, embedding); undefined = the SDK's default provider chain. */
  credentials?: S3Credentials;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  if (endpoint !== undefined && !/^https?:\/\/[^/]/i.test(endpoint)) {
    throw new DeltaError('DELTA_STORAGE', `AWS_ENDPOINT_URL(_S3) must be an http(s) URL, got '${endpoint}'`);
  }
  const pathStyleRaw = nonEmpty(env.RESTLAKE_S3_PATH_STYLE)?.toLowerCase();
  let forcePathStyle = endpoint !== undefined;
  if (pathStyleRaw !== undefined) {
    if (TRUE.has(pathStyleRaw)) forcePathStyle = true;
    else if (FALSE.has(pathStyleRaw)) forcePathStyle = false;
    else throw new DeltaError('DELTA_STORAGE', `RESTLAKE_S3_PATH_STYLE must be true or false, got '${env.RESTLAKE_S3_PATH_STYLE}'`);
  }
  return {
    endpoint,
    region: nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION),
    forcePathStyle,
    cacheDir: path.resolve(nonEmpty(env.RESTLAKE_S3_CACHE_DIR) ?? perUserTempDir('restlake-s3-cache')),
  };
}

/** Region resolution: explicit, else what the SDK finds (profile files), else us-east-1 with redirects followed. */
async function resolveRegion(): Promise<string> {
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}

const clients = new Map<string, S3Client>();

/** One client per distinct setting (connection pools are per client); explicit credentials are never pooled. */
export function s3ClientFor(settings: S3Settings): S3Client {
  // restlake supports Node 20; the SDK's notice that its future releases will not is noise in our output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const key = settings.credentials ? null : JSON.stringify([settings.endpoint, settings.region, settings.forcePathStyle]);
  const cached = key === null ? undefined : clients.get(key);
  if (cached) return cached;
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region ?? resolveRegion,
    forcePathStyle: settings.forcePathStyle,
    followRegionRedirects: true,
    credentials: settings.credentials,
    // Checksums only where S3 requires them: S3-compatible servers differ in their support of the newer
    // flexible checksums, and the SDK would otherwise add them to every PUT.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (key !== null) clients.set(key, client);
  return client;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
