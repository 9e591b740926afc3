/**
 * Pebble, Let's Encrypt's test ACME server (RFC 8555), as a child process on loopback for
 * local mode and tests. Debian's package is Pebble 2.4.0: its directory offers newNonce,
 * newAccount, newOrder, revokeCert and keyChange, but no `renewalInfo` (RFC 9773 ARI), so
 * renewal against it falls back to the lifetime threshold. Its root and intermediate are
 * regenerated at every start and served by the management interface.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { join, resolve } from 'node:path';
import { errorMessage, LocalServerError } from '../lambdas/core/errors';
import { freeTcpPort } from './ports';
import { findExecutable, INSTALL_COMMAND } from './prerequisites';
import { OWNED_SERVER_SPAWN, ownedServerCommand } from './server-process';

export interface PebbleOptions {
  /** A directory for Pebble's configuration, TLS files and log (created if missing). */
  directory: string;
  /** Loopback port of the ACME API. */
  port: number;
  /** Loopback port of Pebble's management interface (roots, intermediates). */
  managementPort: number;
  /** The DNS server Pebble resolves challenge records with, `"127.0.0.1:port"`. */
  dnsServer: string;
  /** Extra environment, e.g. `{ PEBBLE_WFE_NONCEREJECT: '0' }` or `{ PEBBLE_AUTHZREUSE: '0' }`. */
  env?: Record<string, string>;
  /**
   * Lifetime of issued certificates, in seconds. Pebble's own default is 5 years; this defaults
   * to 90 days, like Let's Encrypt, so lifetime-based renewal behaves as in production.
   */
  certificateValiditySeconds?: number;
  /**
   * Require External Account Binding (RFC 8555 §7.3.4) with these `kid` → base64url HMAC keys.
   * @default EAB not required
   */
  externalAccountMacKeys?: Record<string, string>;
  /** How long to wait for `GET /dir` to answer. @default 10000 */
  startTimeoutMs?: number;
}

export interface PebbleServer {
  /** The ACME directory URL (RFC 8555 §7.1.1), `https://127.0.0.1:<port>/dir`. */
  directoryUrl: string;
  /** `https://127.0.0.1:<managementPort>`. */
  managementUrl: string;
  /** PEM of the TLS certificate Pebble serves: the only thing a client must trust to talk to it. */
  caBundleFile: string;
  /** Pebble's stdout and stderr. */
  logFile: string;
  /** The root that signs the chains of issued certificates (`GET /roots/0`). */
  rootCertificatePem(): Promise<string>;
  /** The intermediate that signs issued certificates (`GET /intermediates/0`). */
  intermediateCertificatePem(): Promise<string>;
  /** Terminate Pebble (SIGTERM, then SIGKILL after 5 s) and wait until it has exited. Idempotent. */
  stop(): Promise<void>;
}

const NINETY_DAYS = 90 * 24 * 60 * 60;
const STOP_GRACE_MS = 5000;
const POLL_MS = 100;

/**
 * Start Pebble on `127.0.0.1:<port>` (ACME) and `127.0.0.1:<managementPort>` (management) with
 * a fresh self-signed TLS certificate, `-dnsserver <dnsServer>` and `PEBBLE_VA_NOSLEEP=1`, and
 * wait until its directory answers over TLS.
 *
 * @throws LocalServerError when `pebble` is not installed (with the install command), or when it
 *   exits or does not answer within the timeout (with the tail of its log); it is then stopped.
 */
export async function startPebble(options: PebbleOptions): Promise<PebbleServer> {
  const binary = findExecutable('pebble');
  if (!binary) {
    throw new LocalServerError(
      `pebble (the ACME test server) is not installed. Install it with: ${INSTALL_COMMAND}`,
    );
  }
  const directory = resolve(options.directory);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const caBundleFile = join(directory, 'pebble-tls-cert.pem');
  const keyFile = join(directory, 'pebble-tls-key.pem');
  const configFile = join(directory, 'pebble-config.json');
  const logFile = join(directory, 'pebble.log');

  // Loaded here: the X.509 stack is needed only when Pebble starts (not for `local --external`).
  const { createSelfSignedTls } = await import('./tls');
  const tls = await createSelfSignedTls(['127.0.0.1', 'localhost']);
  await writeFile(caBundleFile, tls.certPem, { mode: 0o644 });
  await writeFile(keyFile, tls.keyPem, { mode: 0o600 });
  const httpPort = await freeTcpPort();
  let tlsPort = await freeTcpPort();
  while (tlsPort === httpPort) tlsPort = await freeTcpPort();
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${options.port}`,
      managementListenAddress: `127.0.0.1:${options.managementPort}`,
      certificate: caBundleFile,
      privateKey: keyFile,
      // Only dns-01 is used; these are the ports Pebble would connect to for http-01/tls-alpn-01.
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: options.externalAccountMacKeys !== undefined,
      ...(options.externalAccountMacKeys ? { externalAccountMACKeys: options.externalAccountMacKeys } : {}),
      certificateValidityPeriod: options.certificateValiditySeconds ?? NINETY_DAYS,
    },
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const logFd = openSync(logFile, 'a', 0o644);
  let child: ChildProcess;
  try {
    // Owned by this process like named (local/server-process.ts): Ctrl-C reaches only the
    // run, which stops it; and it dies with us.
    const command = ownedServerCommand(binary, ['-config', configFile, '-dnsserver', options.dnsServer]);
    child = spawn(command.command, command.args, {
      cwd: directory,
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', ...options.env },
      stdio: ['ignore', logFd, logFd],
      ...OWNED_SERVER_SPAWN,
    });
  } finally {
    closeSync(logFd);
  }
  const process_ = watch(child);

  const directoryUrl = `https://127.0.0.1:${options.port}/dir`;
  const managementUrl = `https://127.0.0.1:${options.managementPort}`;
  const stop = (): Promise<void> => process_.stop();
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (process_.exit.settled) {
      throw new LocalServerError(
        `Pebble exited (${process_.exit.description}) before its directory answered.${await logTail(logFile)}`,
      );
    }
    try {
      const answer = await httpsGet(directoryUrl, tls.certPem, 1000);
      if (answer.status === 200 && answer.body.includes('newOrder')) break;
      lastProblem = `HTTP ${answer.status}`;
    } catch (error) {
      lastProblem = errorMessage(error);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new LocalServerError(
        `Pebble did not answer ${directoryUrl} within ${timeoutMs / 1000} s (${lastProblem}); it was stopped.${await logTail(logFile)}`,
      );
    }
    await sleep(POLL_MS);
  }

  const fetchPem = async (path: string, what: string): Promise<string> => {
    let answer: { status: number; body: string };
    try {
      answer = await httpsGet(`${managementUrl}${path}`, tls.certPem, 5000);
    } catch (error) {
      throw new LocalServerError(`cannot fetch Pebble's ${what} from ${managementUrl}${path}`, {
        cause: error,
      });
    }
    if (answer.status !== 200 || !answer.body.includes('-----BEGIN CERTIFICATE-----')) {
      throw new LocalServerError(
        `Pebble's ${managementUrl}${path} answered HTTP ${answer.status} without a certificate`,
      );
    }
    return answer.body;
  };
  return {
    directoryUrl,
    managementUrl,
    caBundleFile,
    logFile,
    rootCertificatePem: () => fetchPem('/roots/0', 'root certificate'),
    intermediateCertificatePem: () => fetchPem('/intermediates/0', 'intermediate certificate'),
    stop,
  };
}

interface Exit {
  settled: boolean;
  description: string;
  promise: Promise<void>;
}

/** Track a child's exit and offer an idempotent stop (SIGTERM, then SIGKILL). */
function watch(child: ChildProcess): { exit: Exit; stop(): Promise<void> } {
  const exit: Exit = { settled: false, description: '', promise: Promise.resolve() };
  exit.promise = new Promise<void>((done) => {
    const settle = (description: string): void => {
      if (exit.settled) return;
      exit.settled = true;
      exit.description = description;
      done();
    };
    child.once('exit', (code, signal) => settle(signal ? `signal ${signal}` : `exit code ${code}`));
    child.once('error', (error) => settle(`cannot run: ${error.message}`));
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exit.settled) return;
      child.kill('SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
      if ((await Promise.race([exit.promise.then(() => 'exited' as const), timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exit.promise;
      }
    })();
    return stopping;
  };
  return { exit, stop };
}

/** GET over HTTPS trusting only `ca`; no connection reuse, so nothing stays open. */
function httpsGet(url: string, ca: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const request = get(url, { ca, agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolvePromise({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

async function logTail(file: string, lines = 20): Promise<string> {
  try {
    const text = (await readFile(file, 'utf8')).trimEnd();
    if (!text) return ' Its log is empty.';
    return `\nLast lines of ${file}:\n${text.split('\n').slice(-lines).join('\n')}`;
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
