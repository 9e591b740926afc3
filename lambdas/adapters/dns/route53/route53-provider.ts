import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { canonicalName } from '../../../core/dns/names';
import { DnsProviderError, DnsProviderThrottledError, errorMessage } from '../../../core/errors';
import type { ChangeStatusReporter, DnsProvider, TxtRecord } from '../../../core/ports';
import { Pacer } from '../../../core/renewal/request-pacing';
import { type BackoffOptions, backoff, errorNameOf, isThrottlingError, retryWhile } from '../../aws/retry';
import type { createRoute53Client } from './client';
import { normalizeRoute53Name, quoteTxtValue, unquoteTxtValue } from './txt-values';

/** Options of {@link Route53Provider}. */
export interface Route53ProviderOptions {
  /**
   * Created once per cold start with {@link createRoute53Client}: the partition's global endpoint
   * region, and the SDK's retries off, since this provider owns retrying (one retry layer).
   */
  client: Route53Client;
  /** The delegated validation zone's hosted zone id, e.g. `Z0123456789ABC` (a `/hostedzone/` prefix is accepted). */
  hostedZoneId: string;
  /** The delegated zone's name; only names strictly below it are ever written. */
  zone: string;
  /** TTL of the TXT record sets written, in seconds. Default 60. */
  ttl?: number;
  /**
   * Bound for both retry loops: attempts per API call while throttled, and compare-and-swap
   * attempts per change batch while a concurrent writer wins. Default 6.
   */
  maxAttempts?: number;
  /** Base of the full-jitter exponential backoff, in milliseconds. Default 200. */
  baseDelayMs?: number;
  /**
   * Least time between two API calls of this provider (each attempt counts), so that all
   * invocations at once stay within the account's Route 53 request rate. Default 0 (no pacing).
   */
  minIntervalMs?: number;
}

/** Names written per change batch: keeps a batch well inside Route 53's 1000-record / 32000-character limits. */
const NAMES_PER_BATCH = 20;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,32}$/;
const CHANGE_ID = /^(\/change\/)?[A-Z0-9]{1,64}$/;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** The TXT record set currently at one name, as read. */
interface CurrentSet {
  /** The exact set as Route 53 returned it (what a DELETE must repeat), or undefined when absent. */
  recordSet?: ResourceRecordSet;
  /** Route 53's raw (quoted) values, in order. */
  raw: string[];
}

/** Given what is at a name now, the raw values it must hold, or undefined for "leave it". */
type Plan = (name: string, current: CurrentSet) => string[] | undefined;

/**
 * DNS-01 (RFC 8555 §8.4) TXT records in a Route 53 hosted zone: the delegated validation zone.
 *
 * All values at one name live in one simple record set (apex and wildcard share a name, and
 * several orders may run at once). Every write is a compare-and-swap: read the exact record set
 * (ListResourceRecordSets), then one change batch that DELETEs exactly that set and CREATEs the
 * merged one. Route 53 applies a batch atomically and rejects it (`InvalidChangeBatch`) when the
 * DELETE no longer matches or the CREATE finds a set already there, i.e. when another writer got
 * in between; then the set is re-read and the batch rebuilt (bounded). Only CREATE and DELETE
 * are used, never UPSERT (a blind overwrite), so IAM can pin
 * `route53:ChangeResourceRecordSetsActions` to CREATE and DELETE.
 *
 * Throttling (`Throttling`, `PriorRequestNotComplete`, HTTP 429...) is retried with full-jitter
 * exponential backoff; when the bound is reached a {@link DnsProviderThrottledError} is thrown.
 * Every other failure is a {@link DnsProviderError} naming the operation and the zone.
 */
export class Route53Provider implements DnsProvider, ChangeStatusReporter {
  readonly name = 'route53';
  private readonly client: Route53Client;
  private readonly hostedZoneId: string;
  private readonly zone: string;
  private readonly ttl: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;
  private readonly pacer: Pacer | undefined;

  constructor(options: Route53ProviderOptions) {
    const hostedZoneId = String(options.hostedZoneId ?? '').replace(/^\/hostedzone\//, '');
    if (!HOSTED_ZONE_ID.test(hostedZoneId)) {
      throw new DnsProviderError(
        `route53: hostedZoneId "${options.hostedZoneId}" is not a hosted zone id such as "Z0123456789ABC"`,
      );
    }
    const zone = canonicalName(String(options.zone ?? '').trim());
    if (zone === '' || !zone.split('.').every((label) => LABEL.test(label))) {
      throw new DnsProviderError(`route53: zone "${options.zone}" is not a valid zone name`);
    }
    const ttl = options.ttl ?? 60;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 172_800) {
      throw new DnsProviderError(`route53: ttl must be an integer from 1 to 172800 seconds, got ${ttl}`);
    }
    const maxAttempts = options.maxAttempts ?? 6;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) {
      throw new DnsProviderError(`route53: maxAttempts must be an integer from 1 to 20, got ${maxAttempts}`);
    }
    const baseDelayMs = options.baseDelayMs ?? 200;
    if (!Number.isFinite(baseDelayMs) || baseDelayMs < 0) {
      throw new DnsProviderError(`route53: baseDelayMs must be a non-negative number, got ${baseDelayMs}`);
    }
    this.client = options.client;
    this.hostedZoneId = hostedZoneId;
    this.zone = zone;
    this.ttl = ttl;
    this.maxAttempts = maxAttempts;
    this.backoff = { maxAttempts, baseDelayMs, maxDelayMs: Math.max(baseDelayMs, 5000) };
    const minIntervalMs = options.minIntervalMs ?? 0;
    this.pacer = minIntervalMs > 0 ? new Pacer(minIntervalMs) : undefined;
  }

  /** Every API call (each attempt) waits for its turn (see {@link Route53ProviderOptions.minIntervalMs}). */
  private paced<T>(call: () => Promise<T>): () => Promise<T> {
    const pacer = this.pacer;
    return pacer ? () => pacer.next().then(call) : call;
  }

  /**
   * Add TXT values, keeping every value already at each name (idempotent: a value already
   * there is not written again). Returns the Route 53 change ids (`/change/C...`) of the
   * batches written; empty when nothing had to change.
   */
  async addTxtValues(records: TxtRecord[]): Promise<string[]> {
    const wanted = this.group('addTxtValues', records);
    return this.apply('addTxtValues', wanted, (name, current) => {
      const present = new Set(current.raw.map(unquoteTxtValue));
      const missing = [...(wanted.get(name) ?? [])].filter((value) => !present.has(value));
      if (missing.length === 0) return undefined;
      return [...current.raw, ...missing.map((value) => this.quote('addTxtValues', value))];
    });
  }

  /** Remove exactly these values, keeping any other value at the same name (idempotent). */
  async removeTxtValues(records: TxtRecord[]): Promise<void> {
    const unwanted = this.group('removeTxtValues', records);
    await this.apply('removeTxtValues', unwanted, (name, current) => {
      const drop = unwanted.get(name) ?? new Set<string>();
      const remaining = current.raw.filter((raw) => !drop.has(unquoteTxtValue(raw)));
      return remaining.length === current.raw.length ? undefined : remaining;
    });
  }

  /** True once Route 53 reports the change INSYNC on all its authoritative servers (GetChange). */
  async isChangeApplied(token: string): Promise<boolean> {
    if (typeof token !== 'string' || !CHANGE_ID.test(token)) {
      throw new DnsProviderError(`route53: "${String(token)}" is not a Route 53 change id`);
    }
    const res = await this.send('GetChange', () => this.client.send(new GetChangeCommand({ Id: token })));
    const status = res.ChangeInfo?.Status;
    if (status === undefined) {
      throw new DnsProviderError(`route53: GetChange for ${token} in zone ${this.zone} returned no status`);
    }
    return status === 'INSYNC';
  }

  /** Validate the records and group their values by name (names lowercase, no trailing dot). */
  private group(operation: string, records: TxtRecord[]): Map<string, Set<string>> {
    const byName = new Map<string, Set<string>>();
    for (const record of records) {
      const name = canonicalName(String(record?.fqdn ?? '').trim());
      if (!name.endsWith(`.${this.zone}`) || !name.split('.').every((label) => LABEL.test(label))) {
        throw new DnsProviderError(
          `route53: ${operation} refused "${record?.fqdn}": certflow writes only names below the delegated zone ${this.zone}`,
        );
      }
      if (name.length > 253) {
        throw new DnsProviderError(`route53: ${operation} refused "${name}": longer than 253 characters`);
      }
      if (typeof record.value !== 'string' || record.value === '') {
        throw new DnsProviderError(`route53: ${operation} refused an empty TXT value at ${name}`);
      }
      this.quote(operation, record.value);
      const values = byName.get(name) ?? new Set<string>();
      values.add(record.value);
      byName.set(name, values);
    }
    return byName;
  }

  private quote(operation: string, value: string): string {
    const quoted = quoteTxtValue(value);
    if (quoted === undefined) {
      throw new DnsProviderError(`route53: ${operation} refused a TXT value longer than 255 octets`);
    }
    return quoted;
  }

  /** Run the compare-and-swap for every name, in batches; returns the change ids written. */
  private async apply(operation: string, names: Map<string, Set<string>>, plan: Plan): Promise<string[]> {
    const all = [...names.keys()].sort();
    const tokens: string[] = [];
    for (let i = 0; i < all.length; i += NAMES_PER_BATCH) {
      const token = await this.compareAndSwap(operation, all.slice(i, i + NAMES_PER_BATCH), plan);
      if (token !== undefined) tokens.push(token);
    }
    return tokens;
  }

  /**
   * Read each name's set, build one batch of DELETE(current) + CREATE(planned) changes and
   * submit it; on `InvalidChangeBatch` (another writer changed a set since it was read) re-read
   * and retry, up to `maxAttempts` times.
   */
  private async compareAndSwap(operation: string, names: string[], plan: Plan): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      const changes: Change[] = [];
      for (const name of names) {
        const current = await this.read(name);
        const next = plan(name, current);
        if (next === undefined) continue;
        if (current.recordSet) changes.push({ Action: 'DELETE', ResourceRecordSet: current.recordSet });
        if (next.length > 0) {
          changes.push({
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: `${name}.`,
              Type: 'TXT',
              TTL: this.ttl,
              ResourceRecords: next.map((Value) => ({ Value })),
            },
          });
        }
      }
      if (changes.length === 0) return undefined;
      try {
        const res = await retryWhile(
          this.paced(() =>
            this.client.send(
              new ChangeResourceRecordSetsCommand({
                HostedZoneId: this.hostedZoneId,
                ChangeBatch: { Comment: `certflow ${operation}`, Changes: changes },
              }),
            ),
          ),
          isThrottlingError,
          this.backoff,
        );
        const id = res.ChangeInfo?.Id;
        if (id === undefined) {
          throw new DnsProviderError(
            `route53: ChangeResourceRecordSets in zone ${this.zone} (${this.hostedZoneId}) returned no change id`,
          );
        }
        return id;
      } catch (error) {
        if (error instanceof DnsProviderError) throw error;
        if (errorNameOf(error) === 'InvalidChangeBatch' && attempt < this.maxAttempts) {
          await backoff(attempt - 1, this.backoff);
          continue;
        }
        throw this.translate('ChangeResourceRecordSets', error, attempt);
      }
    }
  }

  /** The TXT record set at exactly `name` (a simple-routing set), if any. */
  private async read(name: string): Promise<CurrentSet> {
    const res = await this.send('ListResourceRecordSets', () =>
      this.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: this.hostedZoneId,
          StartRecordName: `${name}.`,
          StartRecordType: 'TXT',
          MaxItems: 10,
        }),
      ),
    );
    const found = (res.ResourceRecordSets ?? []).find(
      (set) =>
        set.Type === 'TXT' &&
        set.SetIdentifier === undefined &&
        typeof set.Name === 'string' &&
        normalizeRoute53Name(set.Name) === name,
    );
    if (!found) return { raw: [] };
    const raw = (found.ResourceRecords ?? []).flatMap((r) => (typeof r.Value === 'string' ? [r.Value] : []));
    return {
      recordSet: {
        Name: found.Name,
        Type: found.Type,
        TTL: found.TTL,
        ResourceRecords: found.ResourceRecords,
      },
      raw,
    };
  }

  /** One API call with throttling retries; any failure translated into a named error. */
  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await retryWhile(this.paced(call), isThrottlingError, this.backoff);
    } catch (error) {
      throw this.translate(operation, error, this.maxAttempts);
    }
  }

  /** Translate an SDK error at the boundary, keeping it as `cause`. */
  private translate(operation: string, error: unknown, attempts: number): DnsProviderError {
    const where = `${operation} in zone ${this.zone} (${this.hostedZoneId})`;
    const name = errorNameOf(error);
    if (isThrottlingError(error)) {
      return new DnsProviderThrottledError(
        `route53: ${where} was throttled (${name}) ${this.maxAttempts} times in a row; retry later`,
        { cause: error },
      );
    }
    const details = routeMessages(error);
    const suffix =
      name === 'InvalidChangeBatch' && attempts > 1
        ? ` (after ${attempts} attempts: the record set kept changing, or the change is invalid)`
        : '';
    return new DnsProviderError(`route53: ${where} failed: ${name}: ${details}${suffix}`, { cause: error });
  }
}

/** The error's message, plus Route 53's per-change `messages` of an InvalidChangeBatch. */
function routeMessages(error: unknown): string {
  const messages =
    error !== null && typeof error === 'object' ? (error as { messages?: unknown }).messages : undefined;
  const list = Array.isArray(messages) ? messages.filter((m): m is string => typeof m === 'string') : [];
  const message = errorMessage(error);
  return [message, ...list.filter((m) => m !== message)].filter((m) => m !== '').join('; ') || 'no message';
}
