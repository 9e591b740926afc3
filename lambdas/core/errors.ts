/**
 * Named errors. The class name is the error's `name`, which is what Step Functions
 * `Retry.ErrorEquals` / `Catch.ErrorEquals` match, so names are part of the public contract.
 * Every error carries its cause (ES2022 `cause`) and never a secret.
 */
export class CertflowError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem in the configuration: the dotted path of the field and what to do about it. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** The configuration is invalid; `problems` lists every problem found, not just the first. */
export class ConfigError extends CertflowError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], source = 'configuration', options?: { cause?: unknown }) {
    super(
      `${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  - ${p.path || '(root)'}: ${p.message}`)
        .join('\n')}`,
      options,
    );
    this.problems = problems;
  }
}

/** Bad input to a handler (a state's input did not have the expected shape). */
export class InvalidInputError extends CertflowError {}

/** `_acme-challenge.<name>` has no CNAME, or its CNAME leads outside the delegated zone. */
export class DelegationError extends CertflowError {
  /** The CNAME targets followed before giving up (empty when there was no CNAME). */
  readonly chain: string[];
  constructor(
    message: string,
    readonly domain: string,
    readonly expectedRecord: string,
    options?: { cause?: unknown; chain?: string[] },
  ) {
    super(message, options);
    this.chain = options?.chain ?? [];
  }
}

/** An alarm could not be put (CloudWatch PutMetricAlarm); the message names it and the service error. */
export class ExpiryAlarmError extends CertflowError {}

/** A DNS query failed (timeout, SERVFAIL, REFUSED...). */
export class DnsQueryError extends CertflowError {}

/** A DNS UPDATE (RFC 2136) was refused or failed. */
export class DnsUpdateError extends CertflowError {}

/**
 * The DNS server taking updates could not be reached, did not answer, or failed (SERVFAIL): a
 * retry may succeed, so the state machine retries it (a refusal stays a {@link DnsUpdateError}).
 */
export class DnsUpdateUnavailableError extends DnsUpdateError {
  /**
   * The UPDATE left this host and no answer came (timeout, or the connection closed first): the
   * server may still apply it later, so an add's values may appear after they were removed.
   */
  readonly unanswered: boolean;
  constructor(message: string, options?: { cause?: unknown; unanswered?: boolean }) {
    super(message, options);
    this.unanswered = options?.unanswered ?? false;
  }
}

/** Writing or deleting records at the DNS provider failed. */
export class DnsProviderError extends CertflowError {}

/** The provider is being throttled; retryable. */
export class DnsProviderThrottledError extends DnsProviderError {}

/** The TXT values did not become visible at every authoritative server in the allowed checks. */
export class PropagationTimeoutError extends CertflowError {}

/** The order did not become ready in the allowed checks. */
export class OrderTimeoutError extends CertflowError {}

/** The CA marked the order or an authorization invalid; carries the CA's problem document. */
export class OrderInvalidError extends CertflowError {
  constructor(
    message: string,
    readonly problem: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An ACME request failed in a way a retry may fix (connection refused or timed out, connection
 * reset, HTTP 5xx, `badNonce` after every attempt). The message names the URL and the cause.
 * Retried by the state machine.
 */
export class AcmeRequestError extends CertflowError {}

/** The CA refused a request with a problem a retry cannot fix (RFC 8555 §6.7); carries the document. Not retried. */
export class AcmeProblemError extends CertflowError {
  constructor(
    message: string,
    readonly problem: unknown,
    options?: { cause?: unknown; retryAfter?: Date },
  ) {
    super(message, options);
    this.retryAfter = options?.retryAfter;
  }
  /** When the CA said to try again (its `Retry-After`, RFC 8555 §6.6), if it did. */
  readonly retryAfter?: Date;
}

/**
 * The CA's rate limit (RFC 8555 §6.6, `rateLimited`): the certificate is deferred, not failed,
 * until `until` (the CA's Retry-After, or a default); no run asks the CA again before then.
 */
export class RateLimitedError extends CertflowError {
  constructor(
    message: string,
    readonly until: Date,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Storing a certificate failed; the previous certificate is still in place. */
export class CertificateStoreError extends CertflowError {}

/**
 * An issued certificate is not whole or not the one ordered (a chain cut short or missing, a
 * certificate not signed by the next, another key or other names, a chain that reaches no trust
 * anchor); nothing was stored. `checks` names each check that failed (see
 * lambdas/core/certificate/verify.ts). Not retried by the state machine.
 */
export class CertificateChainError extends CertflowError {
  readonly checks: string[];
  constructor(problems: { check: string; message: string }[], options?: { cause?: unknown }) {
    super(
      `the certificate failed verification (${problems.map((p) => `${p.check}: ${p.message}`).join('; ')})`,
      options,
    );
    this.checks = problems.map((p) => p.check);
  }
}

/** Reading or writing the ACME account key failed. */
export class AccountStoreError extends CertflowError {}

/**
 * Reading, writing or clearing the private key kept for an order between its finalization and
 * the storing of its certificate failed, or the key an earlier attempt made is gone. The
 * message never holds the key.
 */
export class PendingKeyStoreError extends CertflowError {}

/** Sending an alert failed. */
export class AlertError extends CertflowError {}

/** Recording, listing or forgetting pending TXT values (values written, not yet removed) failed. */
export class PendingRecordError extends CertflowError {}

/** Reading or updating a new-order budget (the CA's rate limit, kept on our side) failed. */
export class OrderBudgetError extends CertflowError {}

/** A local server (Pebble, BIND) could not be started or is missing. */
export class LocalServerError extends CertflowError {}

/** The operator CLI was called wrongly (unknown certificate, bad option value); exit code 2. */
export class UsageError extends CertflowError {}

/** The deployed stack's outputs could not be read (outputs file, CloudFormation DescribeStacks). */
export class StackLookupError extends CertflowError {}

/** Starting or following a Step Functions execution failed. */
export class ExecutionFollowError extends CertflowError {}

/** An Error, also from another realm (Node's fs errors inside a Jest VM context fail `instanceof Error`). */
export function errorLike(
  value: unknown,
): { name: string; message: string; code?: unknown; cause?: unknown } | undefined {
  if (value instanceof Error) return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, message } = value as { name?: unknown; message?: unknown };
  return typeof name === 'string' && typeof message === 'string'
    ? (value as { name: string; message: string; code?: unknown; cause?: unknown })
    : undefined;
}

/** An error's own `message` (also from another realm), or the thrown value as text; no code added. */
export function errorMessage(error: unknown): string {
  return errorLike(error)?.message ?? String(error);
}

/**
 * The text of an error for a message: its `message`, prefixed by its OS error code (`ENOTDIR`,
 * `EACCES`...) when it has one the message does not already start with. Node's file-system errors
 * already read `CODE: description, syscall 'path'`, so they keep code, system call and path.
 */
export function errorText(error: unknown): string {
  const e = errorLike(error);
  if (!e) return String(error);
  return typeof e.code === 'string' && !e.message.startsWith(e.code) ? `${e.code}: ${e.message}` : e.message;
}

/**
 * Describe any thrown value in one line, without stack traces: `Name: message`, then each error of
 * its `cause` chain whose text the line does not already contain (`; caused by Name: message`), so a
 * wrapper's log line keeps the root cause (an OS error code and path, an SDK error).
 */
export function describeError(error: unknown): string {
  let line = '';
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const e = errorLike(current);
    const text = errorText(current);
    const described = e ? `${e.name}: ${text}` : text;
    if (depth === 0) line = described;
    else if (!line.includes(text)) line += `; caused by ${described}`;
    current = e?.cause;
  }
  return line;
}
