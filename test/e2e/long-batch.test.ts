import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_WAIT_VARIABLE } from '../../local/wait-override';
import { startTestBind, type TestBind } from '../support/bind-fixture';
import { type DnsProxy, startDnsProxy } from '../support/dns-proxy';
import { alerts, type FaultServers, runInProcess, verifyLive, writeConfig } from '../support/fault-harness';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';

/** How long Pebble's DNS queries (its dns-01 validation) take: the order is not ready at the first check. */
const VALIDATION_DNS_DELAY_MS = 1000;
/** The wait between order checks: the batch takes longer than the 60 s aws-local-stepfunctions would allow a Task. */
const ORDER_INTERVAL_SECONDS = 70;

/**
 * A batch that runs longer than a minute: RunBatch (`states:startExecution.sync:2`) has no
 * `TimeoutSeconds`, and on AWS it waits for its batch execution as long as the run may last. Pebble
 * validates through a DNS path that holds each answer for a second, so the first CheckOrder
 * finds the order still pending and the batch waits `orderIntervalSeconds` (70 s) before it
 * finalizes. The run reports the certificate ISSUED and exits 0, with no alert.
 */
describe('a batch longer than 60 s', () => {
  let bind: TestBind;
  let proxy: DnsProxy;
  let pebble: TestPebble;
  let s: FaultServers;

  beforeAll(async () => {
    bind = await startTestBind();
    proxy = await startDnsProxy({
      upstream: bind.address,
      updatePolicy: () => 'forward',
      queryDelayMs: VALIDATION_DNS_DELAY_MS,
    });
    pebble = await startTestPebble({
      dnsServer: `${proxy.address.host}:${proxy.address.port}`,
      env: { PEBBLE_AUTHZREUSE: '0' },
    });
    const workdir = mkdtempSync(join(tmpdir(), 'certflow-long-batch-'));
    const tsigFile = join(workdir, 'tsig.key');
    writeFileSync(tsigFile, `${bind.tsig.secret}\n`, { mode: 0o600 });
    s = {
      bind,
      pebble,
      workdir,
      tsigFile,
      dns: `127.0.0.1:${bind.address.port}`,
      stop: async () => undefined,
    };
  });
  afterAll(async () => {
    await pebble?.stop();
    await proxy?.close();
    await bind?.stop();
  });

  it('reports ISSUED and exits 0, the batch having taken over 60 s', async () => {
    const config = writeConfig(s, 'long-batch', {
      certificates: [{ name: 'www', domains: ['www.example.test'] }],
      timing: { orderIntervalSeconds: ORDER_INTERVAL_SECONDS, orderMaxChecks: 3 },
    });
    const seen: { line: string; at: number }[] = [];
    // The batch must really take over a minute: its Wait states run as the definition says, not
    // shortened as for the rest of the e2e tier.
    const shortened = process.env[TEST_WAIT_VARIABLE];
    delete process.env[TEST_WAIT_VARIABLE];
    const run = await runInProcess(s, config, {
      onLine: (line) => seen.push({ line, at: Date.now() }),
    }).finally(() => {
      if (shortened !== undefined) process.env[TEST_WAIT_VARIABLE] = shortened;
    });
    const at = (pattern: RegExp) => seen.find((l) => pattern.test(l.line))?.at;
    const created = at(/\sCreateOrder\s+ok/);
    const stored = at(/\sFinalizeAndStore\s+ok/);

    expect(run.text).toContain('ISSUED   www');
    expect(run.text).not.toContain('States.Timeout');
    expect(run.result.exitCode).toBe(0);
    expect(run.result.summary).toMatchObject({ issuedCount: 1, failedCount: 0 });
    expect(run.result.execution?.status).toBe('SUCCEEDED');
    expect(run.result.execution?.batches).toEqual([expect.objectContaining({ status: 'SUCCEEDED' })]);
    expect(alerts(s.workdir)).toEqual([]);
    // the batch itself waited: one order check before the wait, one after
    expect(seen.filter((l) => /\sCheckOrder\s+ok/.test(l.line)).length).toBeGreaterThanOrEqual(2);
    expect(created && stored && stored - created).toBeGreaterThan(60_000);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
  });
});
