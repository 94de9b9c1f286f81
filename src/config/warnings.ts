// Settings that are valid but unsafe: `run` logs each at its start (level warn), and
// `validate` and `plan` print them, so the choice is never silent.
import type { PipelineConfig } from './types.js';

export function configWarnings(config: Pick<PipelineConfig, 'transport'>): string[] {
  const out: string[] = [];
  if (!config.transport.tls.verify) {
    out.push(
      'transport.tls.verify is false: server certificates are not checked, so anyone on the network path can pose as the API and read the requests, credentials included; use it only for testing, or trust a private CA with transport.tls.ca_file',
    );
  }
  return out;
}
