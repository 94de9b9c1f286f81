// transport.tls files are parsed when the config is checked: a file that is no PEM
// certificate or key would otherwise pass `validate`, and at run time every row would fail
// its TLS handshake (retried as `connection`). Messages name the file, never its contents.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type TlsFileKey = 'ca_file' | 'cert_file' | 'key_file';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Problems with the readable ones of these files (an unreadable file is reported on its own). */
export function tlsFileProblems(tls: Partial<Record<TlsFileKey, unknown>>): { key: TlsFileKey; message: string }[] {
  const out: { key: TlsFileKey; message: string }[] = [];
  const ca = text(tls.ca_file);
  if (ca !== null) {
    const problem = certificatesProblem(ca.text);
    if (problem) out.push({ key: 'ca_file', message: `${ca.path} ${problem}` });
  }
  const cert = text(tls.cert_file);
  let certificate: X509Certificate | null = null;
  if (cert !== null) {
    const problem = certificatesProblem(cert.text);
    if (problem) out.push({ key: 'cert_file', message: `${cert.path} ${problem}` });
    else certificate = new X509Certificate(cert.text);
  }
  const key = text(tls.key_file);
  if (key !== null) {
    let privateKey: KeyObject | null = null;
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(key.text)) {
      out.push({ key: 'key_file', message: `${key.path} holds an encrypted private key; restlake needs it unencrypted (it takes no passphrase)` });
    } else if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(key.text)) {
      out.push({ key: 'key_file', message: `${key.path} is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" block)` });
    } else {
      try {
        privateKey = createPrivateKey(key.text);
      } catch {
        out.push({ key: 'key_file', message: `${key.path} is not a valid PEM private key` });
      }
    }
    if (privateKey && certificate && cert && !certificate.checkPrivateKey(privateKey)) {
      out.push({ key: 'key_file', message: `${key.path} is not the private key of cert_file ${cert.path}` });
    }
  }
  return out;
}

/** Why a PEM file of certificates does not parse, or null: at least one, each valid. */
function certificatesProblem(pem: string): string | null {
  const blocks = pem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) return 'is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" block)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return blocks.length === 1 ? 'holds a certificate that does not parse' : `holds a certificate that does not parse (number ${i + 1} of ${blocks.length})`;
    }
  }
  return null;
}

function text(path: unknown): { path: string; text: string } | null {
  if (typeof path !== 'string' || path === '') return null;
  try {
    return { path, text: readFileSync(path, 'latin1') };
  } catch {
    return null;
  }
}
