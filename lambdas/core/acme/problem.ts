/**
 * ACME problem documents (RFC 8555 §6.7, RFC 7807): what they hold, which ones a retry cannot
 * fix, and how they read in a message. Pure: no I/O.
 */

/** The ACME error namespace (RFC 8555 §6.7). */
export const ACME_ERROR = 'urn:ietf:params:acme:error:';

/** An RFC 7807 problem document as ACME CAs send it (RFC 8555 §6.7), kept whole. */
export interface AcmeProblem {
  type?: string;
  detail?: string;
  status?: number;
  instance?: string;
  /** RFC 8555 §6.7.1: one problem per identifier, each with its own `identifier`. */
  subproblems?: AcmeProblem[];
  identifier?: { type: string; value: string };
  [member: string]: unknown;
}

/**
 * Problem types that a retry cannot fix (RFC 8555 §6.7): the request fails with
 * `AcmeProblemError` and the state machine does not retry it. Others (`badNonce` after every
 * attempt, `serverInternal`, types this list does not know) are transient.
 */
const PERMANENT_PROBLEMS: ReadonlySet<string> = new Set(
  [
    'accountDoesNotExist',
    'alreadyReplaced',
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
  ].map((t) => `${ACME_ERROR}${t}`),
);

/** Whether a retry cannot fix this problem (see {@link PERMANENT_PROBLEMS}). */
export function isPermanentProblem(problem: AcmeProblem): boolean {
  return typeof problem.type === 'string' && PERMANENT_PROBLEMS.has(problem.type);
}

/** Whether the problem is of the ACME type `name` (e.g. `badNonce`). */
export function isProblemType(problem: unknown, name: string): boolean {
  return (
    typeof problem === 'object' &&
    problem !== null &&
    (problem as { type?: unknown }).type === `${ACME_ERROR}${name}`
  );
}

/**
 * Parse a response body as a problem document, when its media type says it is one
 * (`application/problem+json`) or it is JSON with a string `type`. Undefined otherwise.
 */
export function parseProblem(contentType: string | undefined, body: Buffer): AcmeProblem | undefined {
  const type = (contentType ?? '').toLowerCase();
  if (!type.includes('json')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const problem = parsed as AcmeProblem;
  if (!type.includes('problem+json') && typeof problem.type !== 'string') return undefined;
  return problem;
}

/** `type: detail` of a problem, with its subproblems, on one line. */
export function summarizeProblem(problem: AcmeProblem): string {
  const head = `${problem.type ?? 'about:blank'}: ${problem.detail ?? 'no detail'}`;
  const subs = (problem.subproblems ?? []).map(
    (s) => `${s.identifier?.value ?? '?'}: ${s.type ?? 'about:blank'}: ${s.detail ?? 'no detail'}`,
  );
  return subs.length > 0 ? `${head} [${subs.join('; ')}]` : head;
}
