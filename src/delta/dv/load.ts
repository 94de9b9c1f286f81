// Loads the deleted row indexes of a logical file's deletion vector (PROTOCOL.md "Deletion Vectors").
import { crc32 } from 'node:zlib';
import { DeltaError } from '../errors.js';
import type { DeletionVectorDescriptor } from '../log/actions.js';
import { resolveTablePath } from '../log/paths.js';
import type { Storage } from '../storage/types.js';
import { decodeRoaringBitmapArray } from './roaring.js';
import { z85Decode, z85ToUuid } from './z85.js';

/** Relative (or absolute URI) location of an on-disk DV file. */
export function dvFilePath(dv: DeletionVectorDescriptor): string {
  if (dv.storageType === 'u') {
    const s = dv.pathOrInlineDv;
    if (s.length < 20) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector path '${s}' is shorter than a Z85 UUID`);
    const prefix = s.slice(0, s.length - 20);
    const name = `deletion_vector_${z85ToUuid(s.slice(s.length - 20))}.bin`;
    return prefix ? `${prefix}/${name}` : name;
  }
  if (dv.storageType === 'p') return dv.pathOrInlineDv;
  throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector of storage type '${dv.storageType}' has no file`);
}

/** Reads DV files once per scan. */
export class DeletionVectorLoader {
  private readonly files = new Map<string, Promise<Buffer>>();
  constructor(private readonly storage: Storage) {}

  async rows(dv: DeletionVectorDescriptor): Promise<number[]> {
    if (dv.storageType === 'i') {
      const raw = z85Decode(dv.pathOrInlineDv).subarray(0, dv.sizeInBytes);
      return check(decodeRoaringBitmapArray(raw), dv);
    }
    if (dv.storageType !== 'u' && dv.storageType !== 'p') {
      throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `deletion vector storage type '${dv.storageType}' is not supported`);
    }
    const rel = resolveTablePath(this.storage, dvFilePath(dv));
    let p = this.files.get(rel);
    if (!p) {
      p = this.storage.read(rel).then((b) => {
        if (!b) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector file ${rel} of ${this.storage.root} is missing`);
        return b;
      });
      this.files.set(rel, p);
    }
    const file = await p;
    if (file[0] !== 1) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector file ${rel} has unknown format version ${file[0]}`);
    const offset = dv.offset ?? 1;
    if (offset + 4 + dv.sizeInBytes + 4 > file.length) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector at ${rel}@${offset} runs past the end of the file`);
    const size = file.readUInt32BE(offset);
    if (size !== dv.sizeInBytes) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector at ${rel}@${offset} has size ${size}, log says ${dv.sizeInBytes}`);
    const data = file.subarray(offset + 4, offset + 4 + size);
    const want = file.readUInt32BE(offset + 4 + size);
    if (crc32(data) >>> 0 !== want) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector at ${rel}@${offset} fails its CRC-32 check`);
    return check(decodeRoaringBitmapArray(data), dv);
  }
}

function check(rows: number[], dv: DeletionVectorDescriptor): number[] {
  if (rows.length !== dv.cardinality) {
    throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector holds ${rows.length} rows, log says cardinality ${dv.cardinality}`);
  }
  return rows;
}
