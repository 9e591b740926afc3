/**
 * The ACME API (RFC 8555 §7) over {@link AcmeHttp} and {@link AccountKey}: directory, accounts
 * (with External Account Binding), orders, authorizations, challenge responses, finalization,
 * certificate download, and ACME Renewal Information (RFC 9773). One instance per account and
 * directory; the directory is read once per instance.
 */
import { AcmeRequestError } from '../errors';
import { type AcmeHttp, type AcmeResponse, header, retryAfterMs } from './http';
import { type AccountKey, base64url, dns01TxtValue, type EabKey, externalAccountBinding } from './jws';
import type { AcmeProblem } from './problem';

/** The directory object (§7.1.1), with the RFC 9773 `renewalInfo` resource. */
export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  renewalInfo?: string;
  meta?: { termsOfService?: string; externalAccountRequired?: boolean; [key: string]: unknown };
  [resource: string]: unknown;
}

/** Order statuses (§7.1.6). */
export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

/** An order object (§7.1.3). */
export interface AcmeOrder {
  status: OrderStatus;
  expires?: string;
  identifiers: { type: string; value: string }[];
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: AcmeProblem;
}

/** A challenge object (§7.1.5, §8). */
export interface AcmeChallenge {
  type: string;
  url: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  token?: string;
  validated?: string;
  error?: AcmeProblem;
}

/** An authorization object (§7.1.4). */
export interface AcmeAuthorization {
  identifier: { type: string; value: string };
  status: 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
  expires?: string;
  challenges: AcmeChallenge[];
  wildcard?: boolean;
}

/** An RFC 9773 §4.2 RenewalInfo answer. */
export interface RenewalInfo {
  suggestedWindow: { start: Date; end: Date };
  explanationURL?: string;
  /** The CA's `Retry-After`, in seconds, when it sent one. */
  retryAfterSeconds?: number;
}

export interface AcmeClientOptions {
  directoryUrl: string;
  http: AcmeHttp;
  /** The account key; needed for every signed request. */
  accountKey?: AccountKey;
  /** The account URL (`kid`, §6.2); set by {@link AcmeClient.newAccount}. */
  accountUrl?: string;
}

/** Bounds of {@link AcmeClient.waitForOrder}. */
export interface PollOptions {
  /** Order polls at most. @default 20 */
  maxPolls?: number;
  /**
   * Wait between polls when the CA sends no `Retry-After`.
   * @default 50, 150, 300, 500 ms, then 1000 ms ({@link ORDER_POLL_BACKOFF_MS})
   */
  intervalMs?: number;
  /** Upper bound of one wait, whatever `Retry-After` says. @default 5000 */
  maxIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Waits before the first polls of an order when the CA sends no `Retry-After` (RFC 8555 §7.4
 * leaves the interval to the client): a CA that processes in the background is often done within
 * a fraction of a second, so the first checks come sooner; every later one waits 1 s.
 */
export const ORDER_POLL_BACKOFF_MS: readonly number[] = [50, 150, 300, 500];

/** An RFC 8555 client for one account at one CA. */
export class AcmeClient {
  readonly directoryUrl: string;
  private readonly http: AcmeHttp;
  private readonly key: AccountKey | undefined;
  private kid: string | undefined;
  private dir: Promise<AcmeDirectory> | undefined;

  constructor(options: AcmeClientOptions) {
    this.directoryUrl = options.directoryUrl;
    this.http = options.http;
    this.key = options.accountKey;
    this.kid = options.accountUrl;
    this.http.useNewNonceUrl(() => this.resource('newNonce'));
  }

  /** The account URL, once known. */
  get accountUrl(): string | undefined {
    return this.kid;
  }

  /** §7.1.1: GET the directory (once per instance; a failed read is retried on the next call). */
  directory(): Promise<AcmeDirectory> {
    this.dir ??= (async () => {
      const res = await this.http.get('directory', this.directoryUrl);
      return json<AcmeDirectory>(res, 'directory');
    })().catch((error: unknown) => {
      this.dir = undefined;
      throw error;
    });
    return this.dir;
  }

  /**
   * §7.3 newAccount: register the key (or find its existing account: the CA answers 200 with the
   * same URL, §7.3.1), binding it to an external account when `eab` is given (§7.3.4). Returns
   * the account URL and whether the CA created it now.
   */
  async newAccount(request: {
    contact?: string[];
    termsOfServiceAgreed?: boolean;
    eab?: EabKey;
  }): Promise<{ url: string; created: boolean }> {
    const key = this.requireKey();
    const url = await this.resource('newAccount');
    const payload: Record<string, unknown> = {};
    if (request.contact) payload.contact = request.contact;
    if (request.termsOfServiceAgreed !== undefined)
      payload.termsOfServiceAgreed = request.termsOfServiceAgreed;
    if (request.eab) payload.externalAccountBinding = externalAccountBinding(request.eab, url, key.jwk);
    const res = await this.http.post('newAccount', url, (nonce) => key.sign({ url, nonce }, payload));
    const location = requireLocation(res, 'newAccount');
    this.kid = location;
    return { url: location, created: res.status === 201 };
  }

  /** §7.4 newOrder for DNS identifiers (`*.name` for wildcards, §7.1.3). */
  async newOrder(names: string[]): Promise<{ url: string; order: AcmeOrder }> {
    const url = await this.resource('newOrder');
    const res = await this.signed('newOrder', url, {
      identifiers: names.map((value) => ({ type: 'dns', value })),
    });
    return { url: requireLocation(res, 'newOrder'), order: asOrder(res, 'newOrder') };
  }

  /** POST-as-GET an order (§7.1.3, §6.3). */
  async order(url: string): Promise<AcmeOrder> {
    return asOrder(await this.signed('order', url, undefined), 'order');
  }

  /** POST-as-GET an authorization (§7.5). */
  async authorization(url: string): Promise<AcmeAuthorization> {
    const res = await this.signed('authorization', url, undefined);
    const authz = json<AcmeAuthorization>(res, 'authorization');
    if (typeof authz.status !== 'string' || !Array.isArray(authz.challenges) || !authz.identifier) {
      throw malformed('authorization', res, 'an authorization without status, identifier or challenges');
    }
    return authz;
  }

  /** §7.5.1: tell the CA the challenge is ready to validate (payload `{}`). */
  async respondToChallenge(url: string): Promise<AcmeChallenge> {
    return json<AcmeChallenge>(await this.signed('challenge', url, {}), 'challenge');
  }

  /** §7.4 finalize: send the CSR (DER) to the order's finalize URL; returns the updated order. */
  async finalize(order: AcmeOrder, csrDer: Buffer): Promise<AcmeOrder> {
    return asOrder(await this.signed('finalize', order.finalize, { csr: base64url(csrDer) }), 'finalize');
  }

  /**
   * Poll an order (POST-as-GET) until its status is not `pending`/`processing` or the polls run
   * out; honours `Retry-After` (§7.4), capped. Returns the last order seen.
   */
  async waitForOrder(
    url: string,
    options: PollOptions & { while: readonly OrderStatus[] } = { while: ['processing'] },
  ): Promise<AcmeOrder> {
    const maxPolls = options.maxPolls ?? 20;
    const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let poll = 1; ; poll++) {
      const res = await this.signed('order', url, undefined);
      const order = asOrder(res, 'order');
      if (!options.while.includes(order.status) || poll >= maxPolls) return order;
      const fallback = options.intervalMs ?? ORDER_POLL_BACKOFF_MS[poll - 1] ?? 1000;
      await sleep(retryAfterMs(res, options.maxIntervalMs ?? 5000) ?? fallback);
    }
  }

  /** §7.4.2: download the certificate chain as PEM (`application/pem-certificate-chain`). */
  async certificate(url: string): Promise<string> {
    const key = this.requireKey();
    const kid = this.requireKid();
    const res = await this.http.post(
      'certificate download',
      url,
      (nonce) => key.sign({ url, nonce, kid }, undefined),
      'application/pem-certificate-chain',
    );
    const pem = res.body.toString('utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw malformed('certificate download', res, 'no PEM certificate');
    }
    return pem;
  }

  /** §8.4: the TXT value for a dns-01 challenge token. */
  dns01TxtValue(token: string): string {
    return dns01TxtValue(token, this.requireKey());
  }

  /**
   * RFC 9773 §4.2: GET `<renewalInfo>/<CertID>` (unauthenticated). Undefined when the CA offers
   * no `renewalInfo`, does not know the certificate (any non-200), or sends an unusable window.
   */
  async renewalInfo(certId: string): Promise<RenewalInfo | undefined> {
    const base = (await this.directory()).renewalInfo;
    if (typeof base !== 'string' || base === '') return undefined;
    const res = await this.http.get(
      'renewalInfo',
      `${base.replace(/\/$/, '')}/${certId}`,
      [200, 404, 400, 409],
    );
    if (res.status !== 200) return undefined;
    let body: { suggestedWindow?: { start?: unknown; end?: unknown }; explanationURL?: unknown };
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      return undefined;
    }
    const start = Date.parse(String(body?.suggestedWindow?.start ?? ''));
    const end = Date.parse(String(body?.suggestedWindow?.end ?? ''));
    if (Number.isNaN(start) || Number.isNaN(end) || end < start) return undefined;
    const info: RenewalInfo = { suggestedWindow: { start: new Date(start), end: new Date(end) } };
    if (typeof body.explanationURL === 'string') info.explanationURL = body.explanationURL;
    const retryAfter = header(res, 'retry-after');
    if (retryAfter && /^\d+$/.test(retryAfter)) info.retryAfterSeconds = Number(retryAfter);
    return info;
  }

  /** The URL of a directory resource (§7.1.1), or an error naming the directory. */
  private async resource(name: 'newNonce' | 'newAccount' | 'newOrder'): Promise<string> {
    const url = (await this.directory())[name];
    if (typeof url !== 'string' || url === '') {
      throw new AcmeRequestError(
        `ACME ${name} failed: the directory ${this.directoryUrl} has no "${name}" URL; is acme.directory an ACME directory URL?`,
      );
    }
    return url;
  }

  /** A request signed with the account key and `kid` (§6.2); `payload` undefined = POST-as-GET. */
  private signed(
    operation: string,
    url: string,
    payload: Record<string, unknown> | undefined,
  ): Promise<AcmeResponse> {
    const key = this.requireKey();
    const kid = this.requireKid();
    return this.http.post(operation, url, (nonce) => key.sign({ url, nonce, kid }, payload));
  }

  private requireKey(): AccountKey {
    if (!this.key) throw new Error('AcmeClient: this request needs the account key');
    return this.key;
  }

  private requireKid(): string {
    if (!this.kid) throw new Error('AcmeClient: this request needs the account URL (newAccount first)');
    return this.kid;
  }
}

function json<T>(res: AcmeResponse, operation: string): T {
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object') return parsed as T;
  } catch {
    // reported below
  }
  throw malformed(operation, res, 'no JSON object');
}

function asOrder(res: AcmeResponse, operation: string): AcmeOrder {
  const order = json<AcmeOrder>(res, operation);
  if (
    typeof order.status !== 'string' ||
    !Array.isArray(order.authorizations) ||
    typeof order.finalize !== 'string'
  ) {
    throw malformed(operation, res, 'an order without status, authorizations or finalize');
  }
  return order;
}

function requireLocation(res: AcmeResponse, operation: string): string {
  const location = header(res, 'location');
  if (!location) throw malformed(operation, res, 'no Location header');
  return new URL(location, res.url).toString();
}

function malformed(operation: string, res: AcmeResponse, what: string): AcmeRequestError {
  return new AcmeRequestError(
    `ACME ${operation} failed: ${res.url} answered HTTP ${res.status} with ${what} (RFC 8555 §7)`,
  );
}
