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
  constructor(
    message: string,
    readonly domain: string,
    readonly expectedRecord: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A DNS query failed (timeout, SERVFAIL, REFUSED...). */
export class DnsQueryError extends CertflowError {}

/** A DNS UPDATE (RFC 2136) was refused or failed. */
export class DnsUpdateError extends CertflowError {}

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
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Storing a certificate failed; the previous certificate is still in place. */
export class CertificateStoreError extends CertflowError {}

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

/** A local server (Pebble, BIND) could not be started or is missing. */
export class LocalServerError extends CertflowError {}

/** Describe any thrown value in one line, without stack traces. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
