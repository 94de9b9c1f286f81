// Delta log actions as they appear in JSON commits (PROTOCOL.md "Actions").

export interface DeletionVectorDescriptor {
  storageType: 'u' | 'i' | 'p' | string;
  pathOrInlineDv: string;
  offset?: number | null;
  sizeInBytes: number;
  cardinality: number;
  maxRowIndex?: number | null;
}

export interface AddFile {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  stats?: string | null;
  tags?: Record<string, string | null> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
  clusteringProvider?: string | null;
}

export interface RemoveFile {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean | null;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  stats?: string | null;
  tags?: Record<string, string | null> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
}

export interface Metadata {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  configuration: Record<string, string>;
  createdTime?: number | null;
}

export interface Protocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[] | null;
  writerFeatures?: string[] | null;
}

export interface Txn { appId: string; version: number; lastUpdated?: number | null }

export interface CommitInfo {
  timestamp?: number;
  operation?: string;
  operationParameters?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface DomainMetadata { domain: string; configuration: string; removed: boolean }
export interface Sidecar { path: string; sizeInBytes: number; modificationTime: number; tags?: Record<string, string> | null }
export interface CheckpointMetadata { version: number; tags?: Record<string, string> | null }

/** One line of a commit file: exactly one key is set. */
export type Action =
  | { add: AddFile }
  | { remove: RemoveFile }
  | { metaData: Metadata }
  | { protocol: Protocol }
  | { txn: Txn }
  | { commitInfo: CommitInfo }
  | { domainMetadata: DomainMetadata }
  | { cdc: Record<string, unknown> }
  | { sidecar: Sidecar }
  | { checkpointMetadata: CheckpointMetadata };

/** `<storageType><pathOrInlineDv>[@offset]` per PROTOCOL.md "Derived Fields". */
export function dvUniqueId(dv: DeletionVectorDescriptor | null | undefined): string | null {
  if (!dv) return null;
  return dv.offset === undefined || dv.offset === null
    ? `${dv.storageType}${dv.pathOrInlineDv}`
    : `${dv.storageType}${dv.pathOrInlineDv}@${dv.offset}`;
}

/** Decodes an action path (an RFC 2396 URI reference) to the storage-relative path, or keeps an absolute URI. */
export function decodeActionPath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/**
 * Encodes a relative file path for an add/remove action like Spark/Hadoop (java.net.URI): RFC 2396
 * unreserved, punctuation, '/' and '@' stay; everything else (space, '%', '#', '?', brackets...) is
 * percent-encoded as UTF-8. Non-ASCII is encoded too: Spark and Kernel parse the path with
 * java.net.URI, which rejects raw Unicode spaces (U+00A0, U+2028, U+3000) and C1 controls, while
 * every reader decodes %XX escapes back to the same characters.
 */
export function encodeActionPath(rel: string): string {
  let out = '';
  for (const ch of rel) {
    if (/[A-Za-z0-9\-_.!~*'(),;:$&+=/@]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
