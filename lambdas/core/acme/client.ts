import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import * as acme from 'acme-client';
import { AcmeProblemError, AcmeRequestError, CertflowError } from '../errors';
import type { AcmeAccount } from '../ports';

let trustedBundle: string | undefined;

/**
 * Trust an extra CA bundle for the ACME directory's TLS (Pebble, on-premises CAs). Applies to
 * acme-client's shared HTTP instance; called once per cold start.
 */
export function trustCaBundle(file: string | undefined): void {
  if (!file || trustedBundle === file) return;
  let ca: string;
  try {
    ca = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new CertflowError(`acme.caBundleFile: cannot read ${file}; point it at a PEM bundle`, { cause });
  }
  acme.axios.defaults.httpsAgent = new Agent({ ca, keepAlive: true });
  trustedBundle = file;
}

export interface EabKey {
  kid: string;
  hmacKey: string;
}

/** An acme-client Client for an account (RFC 8555 §6.2: requests signed with the account key, `kid` = URL). */
export function acmeClient(account: AcmeAccount, eab?: EabKey): acme.Client {
  return new acme.Client({
    directoryUrl: account.directoryUrl,
    accountKey: account.keyPem,
    accountUrl: account.accountUrl,
    externalAccountBinding: eab,
    backoffAttempts: 5,
    backoffMin: 500,
    backoffMax: 5000,
  });
}

/** An RFC 7807 problem document as ACME CAs send it (RFC 8555 §6.7). */
export interface AcmeProblem {
  type?: string;
  detail?: string;
  status?: number;
  subproblems?: unknown[];
}

/**
 * Problem types that a retry cannot fix (RFC 8555 §6.7): the run must fail and alert. Others
 * (serverInternal, badNonce beyond acme-client's own retries, network errors) are transient.
 */
const PERMANENT_PROBLEMS = new Set(
  [
    'accountDoesNotExist',
    'alreadyRevoked',
    'badCSR',
    'badPublicKey',
    'badRevocationReason',
    'badSignatureAlgorithm',
    'caa',
    'compound',
    'connection',
    'dns',
    'externalAccountRequired',
    'incorrectResponse',
    'invalidContact',
    'malformed',
    'orderNotReady',
    'rateLimited',
    'rejectedIdentifier',
    'unauthorized',
    'unsupportedContact',
    'unsupportedIdentifier',
    'userActionRequired',
  ].map((t) => `urn:ietf:params:acme:error:${t}`),
);

/**
 * acme-client turns a CA's problem document into a plain Error with only its `detail`. This
 * interceptor keeps the whole document for the ACME call in progress (async-context scoped),
 * so errors can carry the problem type and document.
 */
const lastProblem = new AsyncLocalStorage<{ problem?: AcmeProblem }>();
let interceptorInstalled = false;
function captureProblems(): void {
  if (interceptorInstalled) return;
  interceptorInstalled = true;
  const remember = (response: { headers?: Record<string, unknown>; data?: unknown } | undefined): void => {
    const type = String(response?.headers?.['content-type'] ?? '');
    const slot = lastProblem.getStore();
    if (slot && type.includes('problem+json') && response?.data && typeof response.data === 'object') {
      slot.problem = response.data as AcmeProblem;
    }
  };
  acme.axios.interceptors.response.use(
    (response) => {
      remember(response);
      return response;
    },
    (error: { response?: { headers?: Record<string, unknown>; data?: unknown } }) => {
      remember(error?.response);
      return Promise.reject(error);
    },
  );
}

/**
 * Run one ACME call, translating failures into named errors with the operation named and the
 * CA's problem document attached: {@link AcmeProblemError} when retrying cannot help (the
 * state machine does not retry it), else {@link AcmeRequestError} (retried).
 */
export async function acmeCall<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  captureProblems();
  const slot: { problem?: AcmeProblem } = {};
  try {
    return await lastProblem.run(slot, fn);
  } catch (cause) {
    if (cause instanceof CertflowError) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    const problem = slot.problem;
    if (problem?.type && PERMANENT_PROBLEMS.has(problem.type)) {
      throw new AcmeProblemError(
        `ACME ${operation} failed: ${message} (CA problem: ${JSON.stringify(problem)})`,
        problem,
        {
          cause,
        },
      );
    }
    throw new AcmeRequestError(
      `ACME ${operation} failed: ${message}${problem ? ` (CA problem: ${JSON.stringify(problem)})` : ''}`,
      {
        cause,
      },
    );
  }
}
