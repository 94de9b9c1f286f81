// Z85 (ZeroMQ base85) as Delta uses it for inline deletion vectors and UUID-named DV files.
// Delta pads the input to a multiple of 4 bytes before encoding; decoders trim to the known size.
import { DeltaError } from '../errors.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function z85Decode(s: string): Buffer {
  if (s.length % 5 !== 0) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `Z85 text length ${s.length} is not a multiple of 5`);
  const out = Buffer.alloc((s.length / 5) * 4);
  for (let i = 0, o = 0; i < s.length; i += 5, o += 4) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const c = s.charCodeAt(i + j);
      const d = c < 128 ? DECODE[c] : -1;
      if (d < 0) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', `invalid Z85 character '${s[i + j]}'`);
      v = v * 85 + d;
    }
    if (v > 0xffffffff) throw new DeltaError('DELTA_CORRUPT_DELETION_VECTOR', 'Z85 block overflows 32 bits');
    out.writeUInt32BE(v, o);
  }
  return out;
}

export function z85Encode(data: Buffer): string {
  const padded = data.length % 4 === 0 ? data : Buffer.concat([data, Buffer.alloc(4 - (data.length % 4))]);
  let out = '';
  for (let i = 0; i < padded.length; i += 4) {
    let v = padded.readUInt32BE(i);
    const chunk = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = ALPHABET[v % 85];
      v = Math.floor(v / 85);
    }
    out += chunk.join('');
  }
  return out;
}

/** The canonical UUID text of a 20-character Z85-encoded UUID. */
export function z85ToUuid(s: string): string {
  const hex = z85Decode(s).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
