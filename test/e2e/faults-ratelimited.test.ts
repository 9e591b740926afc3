import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_CODES } from '../../local/run-local';
import { type AcmeProxy, type CannedAnswer, startAcmeProxy } from '../support/acme-proxy';
import { snapshotTree } from '../support/certificates';
import {
  alerts,
  type FaultServers,
  pendingValues,
  runInProcess,
  startFaultServers,
  writeConfig,
  zoneValues,
} from '../support/fault-harness';

/** How long the CA tells the client to wait, in the `Retry-After` header (seconds). */
const RETRY_AFTER_SECONDS = 7200;

/**
 * The CA's refusal of a new order for the account's new-order rate limit, as Let's Encrypt sends
 * it:
 * - RFC 8555 §6.6: "the server [...] MAY include a Retry-After header field"; the problem type is
 *   `urn:ietf:params:acme:error:rateLimited` (§6.7: "The request exceeds a rate limit"), a problem
 *   document (RFC 7807, `application/problem+json`).
 * - HTTP 429 Too Many Requests (RFC 6585 §4), the status Let's Encrypt answers rate limits with
 *   (https://letsencrypt.org/docs/rate-limits/, "Retrying After Hitting Rate Limits": the response
 *   carries a Retry-After header saying when to try again).
 * - The detail in Boulder's words (letsencrypt/boulder ratelimits/limiter.go, NewOrdersPerAccount:
 *   "too many new orders (%d) from this account in the last %s, retry after %s", the time as
 *   "2006-01-02 15:04:05 MST"; Retry-After in seconds).
 */
function rateLimitedAnswer(now: Date): CannedAnswer {
  const at = new Date(now.getTime() + RETRY_AFTER_SECONDS * 1000);
  const when = `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return {
    status: 429,
    headers: {
      'Content-Type': 'application/problem+json',
      'Retry-After': String(RETRY_AFTER_SECONDS),
    },
    body: JSON.stringify({
      type: 'urn:ietf:params:acme:error:rateLimited',
      detail: `too many new orders (300) from this account in the last 3h0m0s, retry after ${when}: see https://letsencrypt.org/docs/rate-limits/#new-orders-per-account`,
      status: 429,
    }),
  };
}

/** Pebble's newOrder URL path (its directory's `newOrder`, wfe.go `newOrderPath`). */
const NEW_ORDER_PATH = '/order-plz';

/** The CloudWatch metric names in a run's EMF file (`<run>/metrics.jsonl`). */
function metricNames(runDirectory: string): string[] {
  const file = join(runDirectory, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .flatMap((l) =>
      (
        JSON.parse(l) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } }
      )._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name)),
    );
}

/**
 * Rate budgets: the CA answers newOrder with `rateLimited` (HTTP 429, Retry-After). The
 * certificate is deferred until the CA's time, not failed: no alert, no failure metric, the
 * previous certificate stays, nothing is published; and a run before that time asks the CA for
 * no new order and says again until when.
 */
describe('fault: the CA rate-limits new orders (rateLimited, Retry-After)', () => {
  let s: FaultServers;
  let proxy: AcmeProxy;
  let config: string;
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const live = () => join(s.workdir, 'certs', 'live', 'www');
  const versions = () => readdirSync(join(s.workdir, 'certs', 'archive', 'www')).length;
  const isNewOrder = (method: string, path: string) => method === 'POST' && path === NEW_ORDER_PATH;
  const newOrders = () => proxy.requests.filter((r) => isNewOrder(r.method, r.path));
  const alarming = (from: number) =>
    alerts(s.workdir)
      .slice(from)
      .filter((a) => a.type === 'certificate-failed' || a.type === 'execution-ended');

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-ratelimited-' });
    const first = await runInProcess(s, writeConfig(s, 'direct', { certificates: [WWW] }));
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
    proxy = await startAcmeProxy({
      upstreamPort: s.pebble.port,
      upstreamCaFile: s.pebble.caBundleFile,
      directory: s.workdir,
      rule: (method, path) => (isNewOrder(method, path) ? { answer: rateLimitedAnswer(new Date()) } : 'pass'),
    });
    config = writeConfig(s, 'rate-limited', {
      certificates: [WWW],
      directory: proxy.directoryUrl,
      caBundleFile: proxy.caBundleFile,
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await s?.stop();
  });

  let until = '';

  it("the refused certificate is reported DEFERRED until the CA's time, exit 0: no alert, no failure metric, the previous certificate intact, no TXT value", async () => {
    const before = { tree: snapshotTree(live()), versions: versions(), alerts: alerts(s.workdir).length };
    const started = Date.now();
    const run = await runInProcess(s, config, { force: true });
    const ended = Date.now();

    // The fault: one newOrder, answered 429 rateLimited by the proxy; the CA never saw it.
    expect(newOrders().map((r) => typeof r.fault)).toEqual(['object']);

    // Deferred, not failed; a deferral is not a failure: exit code 0 (docs/local-mode.md, exit codes).
    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('0 issued, 0 failed, 1 deferred, 0 not due');
    expect(run.text).not.toMatch(/FAILED\s+www/);
    const line = run.lines.find((l) => l.startsWith('DEFERRED www until '));
    expect(line).toBeDefined();
    until = (line as string).slice('DEFERRED www until '.length);
    // The CA's time: its Retry-After counted from when the answer arrived.
    const at = Date.parse(until);
    expect(at).toBeGreaterThanOrEqual(started + RETRY_AFTER_SECONDS * 1000);
    expect(at).toBeLessThanOrEqual(ended + RETRY_AFTER_SECONDS * 1000);
    expect(run.result.summary).toMatchObject({ failedCount: 0, deferredCount: 1, issuedCount: 0 });

    // Nobody is paged: no certificate-failed alert, the run did not end failed; no failure metric.
    expect(alarming(before.alerts)).toEqual([]);
    expect(metricNames(run.result.runDirectory)).not.toContain('CertificatesFailed');
    expect(metricNames(run.result.runDirectory)).toContain('RunsCompleted');

    // The previous certificate is untouched; no value was published, none is left.
    expect(snapshotTree(live())).toEqual(before.tree);
    expect(versions()).toBe(before.versions);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  it('a run before that time places no new order at the CA and still says deferred until when', async () => {
    expect(until).not.toBe('');
    const before = {
      tree: snapshotTree(live()),
      alerts: alerts(s.workdir).length,
      newOrders: newOrders().length,
    };
    const run = await runInProcess(s, config, { force: true });

    // Never a hot retry: the proxy saw no newOrder this time.
    expect(newOrders()).toHaveLength(before.newOrders);
    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('0 issued, 0 failed, 1 deferred, 0 not due');
    expect(run.lines).toContain(`DEFERRED www until ${until}`);
    expect(run.lines).toContain(`DEFERRED because the CA refused new orders (rateLimited) until ${until}`);
    expect(alarming(before.alerts)).toEqual([]);
    expect(metricNames(run.result.runDirectory)).not.toContain('CertificatesFailed');
    expect(snapshotTree(live())).toEqual(before.tree);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });
});
