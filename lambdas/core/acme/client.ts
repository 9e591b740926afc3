/**
 * certflow's ACME client for one process: the transport settings of the cold start (the CA
 * bundle from `acme.caBundleFile`) and a client per account. Layers: `jws.ts` (RFC 7515/8555
 * §6.2 signatures), `transport.ts` (the port the socket adapter implements, installed by the
 * runtime with {@link useAcmeTransport}), `http.ts` (nonces, retries, problem documents),
 * `api.ts` (RFC 8555 §7 resources and RFC 9773).
 */
import { ConfigFileProblem, readConfigFile } from '../config/files';
import { CertflowError } from '../errors';
import type { AcmeAccount } from '../ports';
import { AcmeClient } from './api';
import { AcmeHttp, type AcmeHttpOptions } from './http';
import { AccountKey } from './jws';
import type { AcmeTransport } from './transport';

export type { EabKey } from './jws';

let transport: AcmeHttpOptions = {};
/** What moves the bytes: installed once per process by the runtime (lambdas/runtime/wiring/accounts.ts). */
let wire: AcmeTransport | undefined;
/** One transport (and so one nonce pool) per directory URL, reused across invocations. */
const transports = new Map<string, AcmeHttp>();

/**
 * Trust an extra CA bundle for the ACME directory's TLS (Pebble, on-premises CAs), besides
 * Node's bundled roots. Called once per cold start; `undefined` keeps the current setting. The
 * file is read each time, so a CA that regenerated its certificate (Pebble, at every start) is
 * trusted anew.
 * @throws CertflowError naming `acme.caBundleFile` when the file cannot be read.
 */
export function trustCaBundle(file: string | undefined): void {
  if (!file) return;
  let ca: string;
  try {
    ca = readConfigFile(file, 'acme.caBundleFile');
  } catch (cause) {
    const why = cause instanceof ConfigFileProblem ? cause.message : String(cause);
    throw new CertflowError(`acme.caBundleFile: ${why}; point it at a PEM bundle`, { cause });
  }
  if (transport.ca !== ca) setAcmeTransport({ ...transport, ca });
}

/**
 * The total time one ACME request may take (`acme.requestTimeoutSeconds`), set once per cold
 * start; the invocation's own deadline still cuts it shorter (http.ts). `undefined` keeps the
 * transport's default.
 */
export function limitAcmeRequests(seconds: number | undefined): void {
  if (seconds === undefined) return;
  const requestTimeoutMs = seconds * 1000;
  if (transport.requestTimeoutMs !== requestTimeoutMs) setAcmeTransport({ ...transport, requestTimeoutMs });
}

/** Replace the transport settings of every client made after this call (tests: timeouts, retry hooks). */
export function setAcmeTransport(options: AcmeHttpOptions): void {
  transport = options;
  transports.clear();
}

/** Install the transport every client made after this call sends through (the runtime's adapter). */
export function useAcmeTransport(adapter: AcmeTransport): void {
  if (wire === adapter) return;
  wire = adapter;
  transports.clear();
}

/** The shared transport for a directory URL. */
export function acmeHttp(directoryUrl: string): AcmeHttp {
  let http = transports.get(directoryUrl);
  if (!http) {
    if (!wire)
      throw new CertflowError('no ACME transport installed: the runtime calls useAcmeTransport first');
    http = new AcmeHttp(wire, transport);
    transports.set(directoryUrl, http);
  }
  return http;
}

/** An RFC 8555 client for an account (its key signs; its URL is the `kid`, §6.2). */
export function acmeClient(account: AcmeAccount): AcmeClient {
  return new AcmeClient({
    directoryUrl: account.directoryUrl,
    http: acmeHttp(account.directoryUrl),
    accountKey: new AccountKey(account.keyPem),
    accountUrl: account.accountUrl,
  });
}

/** A client without an account, for unauthenticated resources (directory, RFC 9773 renewalInfo). */
export function anonymousAcmeClient(directoryUrl: string): AcmeClient {
  return new AcmeClient({ directoryUrl, http: acmeHttp(directoryUrl) });
}
