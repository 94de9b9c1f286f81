// Decoder for Delta's RoaringBitmapArray: magic 1681511377 (LE) + 64-bit portable Roaring
// (RoaringFormatSpec "Extension for 64-bit implementations"): numBuckets u64, then per bucket
// key u32 + a standard 32-bit Roaring serialization. All little endian.
import { DeltaError } from '../errors.js';

export const DV_MAGIC = 1681511377;
const SERIAL_COOKIE_NO_RUNCONTAINER = 12346;
const SERIAL_COOKIE = 12347;
const NO_OFFSET_THRESHOLD = 4;

function corrupt(why: string): never {
  throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `deletion vector is corrupt: ${why}`);
}

/** Magic of Delta's older "native" layout: int32 count, then (int32 size, 32-bit bitmap) per high key 0..n-1. */
export const DV_MAGIC_NATIVE = 1681511376;

/**
 * Row indexes (ascending) in a serialized RoaringBitmapArray. The spec's format is the portable one
 * (little endian). Delta's reference readers also accept the older native layout, and the inline
 * example in PROTOCOL.md itself carries its header integers big endian, so the header byte order is
 * taken from the magic number; the 32-bit Roaring payloads are always little endian.
 */
export function decodeRoaringBitmapArray(buf: Buffer): number[] {
  if (buf.length < 8) corrupt('too short');
  let le: boolean;
  let portable: boolean;
  if (buf.readUInt32LE(0) === DV_MAGIC) [le, portable] = [true, true];
  else if (buf.readUInt32BE(0) === DV_MAGIC) [le, portable] = [false, true];
  else if (buf.readUInt32LE(0) === DV_MAGIC_NATIVE) [le, portable] = [true, false];
  else if (buf.readUInt32BE(0) === DV_MAGIC_NATIVE) [le, portable] = [false, false];
  else corrupt(`bad magic number ${buf.readUInt32LE(0)}`);
  const u32 = (pos: number): number => {
    if (pos + 4 > buf.length) corrupt('truncated header');
    return le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
  };
  const out: number[] = [];
  let pos = 4;
  if (portable) {
    if (pos + 8 > buf.length) corrupt('truncated header');
    const numBuckets = Number(le ? buf.readBigUInt64LE(pos) : buf.readBigUInt64BE(pos));
    pos += 8;
    for (let b = 0; b < numBuckets; b++) {
      const high = u32(pos) * 2 ** 32;
      pos = decodeRoaring32(buf, pos + 4, (low) => out.push(high + low));
    }
  } else {
    const n = u32(pos);
    pos += 4;
    for (let i = 0; i < n; i++) {
      const size = u32(pos);
      const high = i * 2 ** 32;
      decodeRoaring32(buf, pos + 4, (low) => out.push(high + low));
      pos += 4 + size;
    }
  }
  return out;
}

/** Decodes one 32-bit portable Roaring bitmap starting at `pos`; returns the position after it. */
export function decodeRoaring32(buf: Buffer, start: number, emit: (v: number) => void): number {
  let pos = start;
  const need = (n: number): void => {
    if (pos + n > buf.length) corrupt('truncated 32-bit bitmap');
  };
  need(4);
  const cookie = buf.readUInt32LE(pos);
  pos += 4;
  let size: number;
  let runFlags: Buffer | null = null;
  if ((cookie & 0xffff) === SERIAL_COOKIE) {
    size = (cookie >>> 16) + 1;
    const n = Math.ceil(size / 8);
    need(n);
    runFlags = buf.subarray(pos, pos + n);
    pos += n;
  } else if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
    need(4);
    size = buf.readUInt32LE(pos);
    pos += 4;
  } else {
    corrupt(`unknown Roaring cookie ${cookie}`);
  }
  need(size * 4);
  const keys: number[] = [];
  const cards: number[] = [];
  for (let i = 0; i < size; i++) {
    keys.push(buf.readUInt16LE(pos + i * 4));
    cards.push(buf.readUInt16LE(pos + i * 4 + 2) + 1);
  }
  pos += size * 4;
  if (runFlags === null || size >= NO_OFFSET_THRESHOLD) pos += size * 4; // offset header; containers follow in order
  for (let i = 0; i < size; i++) {
    const base = keys[i] << 16 >>> 0;
    const isRun = runFlags !== null && (runFlags[i >> 3] & (1 << (i & 7))) !== 0;
    if (isRun) {
      need(2);
      const runs = buf.readUInt16LE(pos);
      pos += 2;
      need(runs * 4);
      for (let r = 0; r < runs; r++) {
        const s = buf.readUInt16LE(pos + r * 4);
        const len = buf.readUInt16LE(pos + r * 4 + 2);
        for (let v = s; v <= s + len; v++) emit(base + v);
      }
      pos += runs * 4;
    } else if (cards[i] > 4096) {
      need(8192);
      for (let w = 0; w < 2048; w++) {
        let word = buf.readUInt32LE(pos + w * 4);
        while (word !== 0) {
          const bit = 31 - Math.clz32(word & -word);
          emit(base + w * 32 + bit);
          word &= word - 1;
        }
      }
      pos += 8192;
    } else {
      need(cards[i] * 2);
      for (let j = 0; j < cards[i]; j++) emit(base + buf.readUInt16LE(pos + j * 2));
      pos += cards[i] * 2;
    }
  }
  return pos;
}

/** Serializes ascending row indexes as a RoaringBitmapArray (array containers only; used by tests and inline DVs). */
export function encodeRoaringBitmapArray(rows: number[]): Buffer {
  const buckets = new Map<number, number[]>();
  for (const r of [...new Set(rows)].sort((a, b) => a - b)) {
    const k = Math.floor(r / 2 ** 32);
    (buckets.get(k) ?? buckets.set(k, []).get(k)!).push(r % 2 ** 32);
  }
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeUInt32LE(DV_MAGIC, 0);
  head.writeBigUInt64LE(BigInt(buckets.size), 4);
  parts.push(head);
  for (const [key, lows] of buckets) {
    const kb = Buffer.alloc(4);
    kb.writeUInt32LE(key, 0);
    parts.push(kb, encodeRoaring32(lows));
  }
  return Buffer.concat(parts);
}

function encodeRoaring32(values: number[]): Buffer {
  const containers = new Map<number, number[]>();
  for (const v of values) {
    const k = v >>> 16;
    (containers.get(k) ?? containers.set(k, []).get(k)!).push(v & 0xffff);
  }
  const size = containers.size;
  const header = Buffer.alloc(8 + size * 8);
  header.writeUInt32LE(SERIAL_COOKIE_NO_RUNCONTAINER, 0);
  header.writeUInt32LE(size, 4);
  const bodies: Buffer[] = [];
  let offset = header.length;
  let i = 0;
  for (const [k, lows] of containers) {
    header.writeUInt16LE(k, 8 + i * 4);
    header.writeUInt16LE(lows.length - 1, 8 + i * 4 + 2);
    header.writeUInt32LE(offset, 8 + size * 4 + i * 4);
    let body: Buffer;
    if (lows.length > 4096) {
      body = Buffer.alloc(8192);
      for (const l of lows) body[l >> 3] |= 1 << (l & 7);
    } else {
      body = Buffer.alloc(lows.length * 2);
      lows.forEach((l, j) => body.writeUInt16LE(l, j * 2));
    }
    bodies.push(body);
    offset += body.length;
    i++;
  }
  return Buffer.concat([header, ...bodies]);
}
