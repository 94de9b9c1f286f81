// Uploading a local file to S3: one PutObject when it is small, a multipart upload when it is not
// (a single PUT tops out at 5 GiB, and a part that fails is retried alone). Every request body is a
// Buffer, never a stream, so the SDK's own retries can resend it.
import { promises as fs } from 'node:fs';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface UploadOptions {
  /** Files larger than this go multipart. Default 64 MiB. */
  multipartThreshold?: number;
  /** Part size (S3's minimum is 5 MiB except for the last part). Default 32 MiB, raised to stay under 10,000 parts. */
  partSize?: number;
  /** Parts in flight at once. Default 4. */
  concurrency?: number;
}

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;

export async function uploadFile(client: S3Client, bucket: string, key: string, localFile: string, opts: UploadOptions = {}): Promise<void> {
  const { size } = await fs.stat(localFile);
  if (size <= (opts.multipartThreshold ?? 64 * MiB)) {
    const body = await fs.readFile(localFile);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
    return;
  }
  const partSize = Math.max(opts.partSize ?? 32 * MiB, Math.ceil(size / MAX_PARTS));
  const partCount = Math.ceil(size / partSize);
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  const handle = await fs.open(localFile, 'r');
  try {
    const parts: CompletedPart[] = new Array(partCount);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < partCount; i = next++) {
        const offset = i * partSize;
        const length = Math.min(partSize, size - offset);
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buf, 0, length, offset);
        if (bytesRead !== length) throw new Error(`${localFile} changed while uploading (short read at ${offset})`);
        const r = await client.send(
          new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: buf, ContentLength: length }),
        );
        parts[i] = { PartNumber: i + 1, ETag: r.ETag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, partCount) }, worker));
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
    );
  } catch (e) {
    // Leave no billed, invisible parts behind; the original error is the one worth reporting.
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {});
    throw e;
  } finally {
    await handle.close();
  }
}
