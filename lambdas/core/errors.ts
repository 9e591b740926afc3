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

/** An ACME request failed in a way a retry may fix (network, server error). Retried. */
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

/** Sending an alert failed. */
export class AlertError extends CertflowError {}

/** A local server (Pebble, BIND) could not be started or is missing. */
export class LocalServerError extends CertflowError {}

/** The operator CLI was called wrongly (unknown certificate, bad option value); exit code 2. */
export class UsageError extends CertflowError {}

/** The deployed stack's outputs could not be read (outputs file, CloudFormation DescribeStacks). */
export class StackLookupError extends CertflowError {}

/** Starting or following a Step Functions execution failed. */
export class ExecutionFollowError extends CertflowError {}

/** Describe any thrown value in one line, without stack traces. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
