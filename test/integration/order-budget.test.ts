import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../../lambdas/adapters/account/local-file-account-store';
import { LocalOrderBudgetStore } from '../../lambdas/adapters/order-budget/local-order-budget-store';
import { LocalDirectoryStore } from '../../lambdas/adapters/store/local-directory/local-directory-store';
import { parseConfig } from '../../lambdas/core/config/load';
import { JsonLogger } from '../../lambdas/core/logger';
import type { CertificateStore } from '../../lambdas/core/ports';
import {
  defaultNewOrderLimit,
  honourCaBlock,
  reserveNewOrders,
} from '../../lambdas/core/renewal/order-budget';
import type { StepContext } from '../../lambdas/core/steps/context';
import { selectDue } from '../../lambdas/core/steps/select-due';
import { baseContext } from '../../lambdas/runtime/base-context';
import { configureAcmeTransport } from '../../lambdas/runtime/wiring/accounts';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';
import { RecordingMetrics } from '../support/recording-metrics';
import { createTestPki, type TestPki } from '../support/test-pki';

const MINUTE = 60_000;

/**
 * The per-account new-order budget (lambdas/core/renewal/order-budget.ts) across runs, with the
 * clock injected: SelectDue against a real CA (Pebble, for the account), real local stores and
 * the real budget file. A run places what the budget allows and defers the rest with the
 * earliest time each may go; later runs place the rest, never more than the limit in any window.
 */
describe('new-order budget across runs', () => {
  let pebble: TestPebble;
  let pki: TestPki;
  let work: string;
  beforeAll(async () => {
    pebble = await startTestPebble({ dnsServer: '127.0.0.1:53' });
    pki = createTestPki();
  });
  afterAll(async () => {
    await pebble?.stop();
    pki?.cleanup();
  });
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'certflow-budget-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const names = Array.from({ length: 120 }, (_, i) => `svc-${String(i).padStart(3, '0')}.example.test`);
  const config = () =>
    parseConfig({
      acme: {
        directory: pebble.directoryUrl,
        email: 'ops@example.test',
        termsOfServiceAgreed: true,
        caBundleFile: pebble.caBundleFile,
      },
      delegation: { zone: 'acme.certflow.test', domains: ['example.test'], nameservers: ['127.0.0.1:53'] },
      dns: {
        provider: 'rfc2136',
        server: '127.0.0.1:53',
        tsig: { name: 'k', algorithm: 'hmac-sha256', secretFile: '/dev/null' },
      },
      renewal: { useAri: false, newOrderLimit: { orders: 50, windowMinutes: 60 } },
      storage: { localDirectory: join(work, 'certs'), defaultStores: ['local'] },
      // the compact form: 120 single-name certificates
      certificates: names,
    });

  const contextAt = (now: Date): StepContext => {
    const cfg = config();
    configureAcmeTransport({ caBundleFile: cfg.acme.caBundleFile });
    const unused = (what: string) => () => {
      throw new Error(`SelectDue ${what}`);
    };
    return {
      ...baseContext(cfg),
      now: () => now,
      logger: new JsonLogger(() => undefined, { step: 'SelectDue' }),
      metrics: new RecordingMetrics(),
      accounts: () => new LocalFileAccountStore({ directory: join(work, 'state') }),
      eab: async () => undefined,
      stores: (): CertificateStore[] => [new LocalDirectoryStore({ directory: join(work, 'certs') })],
      orderBudget: () => new LocalOrderBudgetStore({ directory: join(work, 'state') }),
      dnsProvider: unused('writes no DNS records'),
      alerter: unused('sends no alert'),
      pendingRecords: unused('records no TXT values'),
      runLiveness: unused('checks no run'),
      pendingKeys: unused('keeps no order key'),
      expiryAlarms: unused('puts no alarm'),
    };
  };

  /** The certificates a run placed are issued (stored), as its batches would. */
  const issue = async (certificates: string[]) => {
    const store = new LocalDirectoryStore({ directory: join(work, 'certs') });
    for (const name of certificates) {
      const domain = names.find((n) => n.replace(/\./g, '-') === name) as string;
      await store.put(pki.issue(name, [domain]));
    }
  };

  it('120 due at 50 per hour: 50 now, 70 deferred with their earliest times; later runs finish, never over 50 in any hour', async () => {
    const t0 = new Date('2026-12-01T10:00:00.000Z');
    const placedAt: number[] = [];
    const run = async (minutes: number) => {
      const now = new Date(t0.getTime() + minutes * MINUTE);
      const selection = await selectDue({}, contextAt(now));
      const placed = selection.batches.flat().map((d) => d.certificate);
      for (const _ of placed) placedAt.push(now.getTime());
      await issue(placed);
      return { selection, placed };
    };

    const first = await run(0);
    expect(first.placed).toHaveLength(50);
    expect(first.selection.deferred).toHaveLength(70);
    expect(first.selection.deferredReason).toBe('the new-order budget (50 new orders per 1 h) is used up');
    // the first 50 deferred go when the first 50 orders leave the window, the last 20 an hour later
    expect(first.selection.deferred[0]?.until).toBe('2026-12-01T11:00:00.000Z');
    expect(new Set(first.selection.deferred.map((d) => d.until))).toEqual(
      new Set(['2026-12-01T11:00:00.000Z', '2026-12-01T12:00:00.000Z']),
    );

    // half an hour later: nothing may be placed; all 70 still deferred, none asked of the CA
    const second = await run(30);
    expect(second.placed).toEqual([]);
    expect(second.selection.deferred.map((d) => d.certificate).sort()).toEqual(
      first.selection.deferred.map((d) => d.certificate).sort(),
    );

    const third = await run(61);
    expect(third.placed).toHaveLength(50);
    expect(third.selection.deferred).toHaveLength(20);

    const fourth = await run(122);
    expect(fourth.placed).toHaveLength(20);
    expect(fourth.selection.deferred).toEqual([]);

    // every certificate placed once, and no hour ever held more than 50 new orders
    const all = [first, second, third, fourth].flatMap((r) => r.placed);
    expect(new Set(all).size).toBe(120);
    for (const t of placedAt) {
      expect(placedAt.filter((u) => u <= t && t - u < 60 * MINUTE).length).toBeLessThanOrEqual(50);
    }
    // the budget is kept in the state directory (one file per ACME directory), not in memory
    expect(readdirSync(join(work, 'state', 'order-budget')).filter((f) => f.endsWith('.json'))).toHaveLength(
      1,
    );
    const kept = JSON.parse(
      readFileSync(
        join(
          work,
          'state',
          'order-budget',
          readdirSync(join(work, 'state', 'order-budget')).find((f) => f.endsWith('.json')) as string,
        ),
        'utf8',
      ),
    ) as { key: string; state: { orders: string[] } };
    expect(kept.key).toBe(pebble.directoryUrl);
    expect(kept.state.orders.length).toBeLessThanOrEqual(50);
  });

  it("a CA's rateLimited block defers every order until the CA's time, whatever the budget says", () => {
    const now = new Date('2026-12-01T10:00:00.000Z');
    const r = reserveNewOrders({ orders: [], blockedUntil: '2026-12-01T10:45:00.000Z' }, 3, now, {
      orders: 300,
      windowSeconds: 3 * 3600,
    });
    expect(r.granted).toBe(0);
    expect(r.deferredUntil).toEqual(Array(3).fill('2026-12-01T10:45:00.000Z'));
    expect(r.reason).toBe('the CA refused new orders (rateLimited) until 2026-12-01T10:45:00.000Z');
  });

  it("with no limit kept (none configured, none known), a CA's block still defers every order until the CA's time, and ends then", () => {
    const blocked = { orders: [], blockedUntil: '2026-12-01T10:45:00.000Z' };
    const r = honourCaBlock(blocked, 2, new Date('2026-12-01T10:00:00.000Z'));
    expect(r.granted).toBe(0);
    expect(r.deferredUntil).toEqual(['2026-12-01T10:45:00.000Z', '2026-12-01T10:45:00.000Z']);
    expect(r.reason).toBe('the CA refused new orders (rateLimited) until 2026-12-01T10:45:00.000Z');
    const after = honourCaBlock(blocked, 2, new Date('2026-12-01T10:45:00.000Z'));
    expect(after).toEqual({ granted: 2, deferredUntil: [], state: { orders: [] } });
  });

  it("defaults to the CA's published limits for Let's Encrypt; none for CAs it does not know", () => {
    expect(defaultNewOrderLimit('https://acme-v02.api.letsencrypt.org/directory')).toEqual({
      orders: 300,
      windowSeconds: 10_800,
    });
    expect(defaultNewOrderLimit('https://acme-staging-v02.api.letsencrypt.org/directory')).toEqual({
      orders: 1500,
      windowSeconds: 10_800,
    });
    expect(defaultNewOrderLimit('https://acme.zerossl.com/v2/DV90')).toBeUndefined();
  });
});
