/**
 * The roots an issued chain must lead to: the PEM bundle `acme.trustAnchorsFile` names, or, for a
 * known public CA (Let's Encrypt, Google Trust Services, ZeroSSL production directories), the
 * Mozilla root store Node.js is built with (`tls.rootCertificates`); none for any other CA.
 */
import { rootCertificates } from 'node:tls';
import { ConfigFileProblem, readConfigFile } from '../config/files';
import type { CertflowConfig } from '../config/schema';
import { KNOWN_DIRECTORIES } from '../config/schema';
import { ConfigError, errorText } from '../errors';
import { splitPemChain } from './inspect';

/** Production directories of public CAs, whose roots are in the Mozilla root store. */
const PUBLIC_DIRECTORIES = new Set(
  ['letsencrypt', 'google', 'zerossl'].map((name) => KNOWN_DIRECTORIES[name] as string),
);

const FIELD = 'acme.trustAnchorsFile';

/**
 * The trust anchors (PEM blocks) for certificates issued from `directoryUrl` (default: the
 * configured directory), or undefined when none are known: the configured file applies to the
 * configured directory only (a dry run's test CA has other roots).
 * @throws ConfigError naming `acme.trustAnchorsFile` when the file cannot be read or holds no certificate.
 */
export function trustAnchorsFor(
  config: Pick<CertflowConfig, 'acme'>,
  directoryUrl: string = config.acme.directoryUrl,
): string[] | undefined {
  const file = config.acme.trustAnchorsFile;
  if (file !== undefined && directoryUrl === config.acme.directoryUrl) return readAnchors(file);
  if (PUBLIC_DIRECTORIES.has(directoryUrl)) return [...rootCertificates];
  return undefined;
}

function readAnchors(file: string): string[] {
  let text: string;
  try {
    text = readConfigFile(file, FIELD);
  } catch (error) {
    if (!(error instanceof ConfigFileProblem)) throw error;
    throw new ConfigError([{ path: FIELD, message: error.message }]);
  }
  let anchors: string[];
  try {
    anchors = splitPemChain(text);
  } catch (error) {
    throw new ConfigError([{ path: FIELD, message: `${file}: ${errorText(error)}` }]);
  }
  if (anchors.length === 0) {
    throw new ConfigError([
      {
        path: FIELD,
        message: `${file} holds no PEM certificate; point it at a PEM bundle of root certificates`,
      },
    ]);
  }
  return anchors;
}
