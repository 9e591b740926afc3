import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_CODES } from '../../local/run-local';
import { TEST_WAIT_VARIABLE } from '../../local/wait-override';
import { serialOf, snapshotTree } from '../support/certificates';
import { type DnsProxy, RCODE, startDnsProxy } from '../support/dns-proxy';
import {
  type FaultServers,
  pendingValues,
  runInProcess,
  startFaultServers,
  verifyLive,
  writeConfig,
  zoneValues,
} from '../support/fault-harness';

/**
 * DNS faults that must end in waiting, not giving up, and in the truth: real Pebble and BIND,
 * with a loopback DNS proxy (test/support/dns-proxy.ts) in front of BIND injecting the fault.
 *
 * - Name servers that fail (SERVFAIL) count as "not ready" until the check limit: a 12-second
 *   SERVFAIL is waited out; a lasting one ends in PropagationTimeoutError naming the server and
 *   its last answer.
 * - A server reachable over TCP only, or one whose UDP answers are all truncated, still serves
 *   every query (delegation check, propagation, read-back, leftover check) over TCP.
 * - An UPDATE that got no answer and reaches the server late (after Cleanup) leaves a value that
 *   the run does not call gone, and that the next run's sweep removes.
 */
describe('fault: DNS servers that fail, answer over TCP only, or apply an UPDATE late', () => {
  let s: FaultServers;
  let proxy: DnsProxy | undefined;
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const WWW_FQDN = 'www.example.test.acme.certflow.test';
  const live = (name: string) => join(s.workdir, 'certs', 'live', name);
  let direct: string;
  const at = () => `127.0.0.1:${proxy?.address.port}`;

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-dns-' });
    direct = writeConfig(s, 'direct', { certificates: [WWW] });
    const first = await runInProcess(s, direct);
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await s?.stop();
  });

  /** One more run with the fault gone: it issues, leaves no value of ours and no pending record. */
  const expectCleanNextRun = async (swept: string[] = []) => {
    const next = await runInProcess(s, direct, { force: true });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toContain('ISSUED   www');
    expect(next.lines.filter((l) => l.startsWith('SWEPT'))).toEqual(swept);
    expect(next.text).toContain(`delegated zone: no TXT value of this run remains (checked at ${s.dns})`);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
  };

  it('every name server answers SERVFAIL for 12 s: the run waits (not ready, the server and SERVFAIL named at each check) and issues, exit 0', async () => {
    const before = serialOf(join(live('www'), 'cert.pem'));
    let firstQuery: number | undefined;
    let lastServfail = 0;
    proxy = await startDnsProxy({
      upstream: s.bind.address,
      updatePolicy: () => 'forward',
      queryPolicy: () => {
        firstQuery ??= Date.now();
        if (Date.now() - firstQuery >= 12_000) return 'forward';
        lastServfail = Date.now();
        return { rcode: RCODE.SERVFAIL };
      },
    });
    const config = writeConfig(s, 'servfail-12s', {
      certificates: [WWW],
      nameservers: [at()],
      timing: { propagationIntervalSeconds: 1, propagationMaxChecks: 40 },
    });
    // This case is about time (12 s of SERVFAIL against 40 checks 1 s apart): the Wait states run
    // as the definition says, not shortened as for the rest of the e2e tier.
    const shortened = process.env[TEST_WAIT_VARIABLE];
    delete process.env[TEST_WAIT_VARIABLE];
    const started = Date.now();
    const run = await runInProcess(s, config, { force: true }).finally(() => {
      if (shortened !== undefined) process.env[TEST_WAIT_VARIABLE] = shortened;
    });

    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('ISSUED   www');
    const waiting = run.lines.filter(
      (l) => /www\s+CheckPropagation\s+ok/.test(l) && l.includes('not visible yet'),
    );
    expect(waiting.length).toBeGreaterThanOrEqual(5);
    for (const line of waiting) expect(line).toContain(`: SERVFAIL for ${WWW_FQDN} on ${at()}`);
    expect(run.text).toMatch(/www\s+CheckPropagation\s+ok\s+\d+ ms {2}visible at every authoritative server/);
    // it waited the fault out rather than failing within seconds
    expect(lastServfail - started).toBeGreaterThanOrEqual(10_000);
    expect(run.text).toContain(`delegated zone: no TXT value of this run remains (checked at ${at()})`);
    expect(serialOf(join(live('www'), 'cert.pem'))).not.toBe(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    await proxy.close();
    proxy = undefined;
    await expectCleanNextRun();
  }, 180_000);

  it('every name server keeps answering SERVFAIL: PropagationTimeoutError after the check limit naming the server and SERVFAIL, exit 1, the previous certificate intact and verifying, nothing called gone', async () => {
    const before = snapshotTree(live('www'));
    proxy = await startDnsProxy({
      upstream: s.bind.address,
      updatePolicy: () => 'forward',
      queryPolicy: () => ({ rcode: RCODE.SERVFAIL }),
    });
    const config = writeConfig(s, 'servfail', {
      certificates: [WWW],
      nameservers: [at()],
      timing: { propagationIntervalSeconds: 1, propagationMaxChecks: 4 },
    });
    const run = await runInProcess(s, config, { force: true });

    expect(run.result.exitCode).toBe(EXIT_CODES.failed);
    expect(run.result.summary?.failed[0]).toMatchObject({
      certificate: 'www',
      step: 'CheckPropagation',
      error: 'PropagationTimeoutError',
    });
    expect(run.text).toContain(
      `TXT values not visible at every authoritative server after 4 checks: SERVFAIL for ${WWW_FQDN} on ${at()}`,
    );
    expect(run.text).toMatch(/www\s+CleanupAfterFailure\s+ok/);
    expect(run.text).toContain(`delegated zone: could not check ${at()} (SERVFAIL for ${WWW_FQDN})`);
    expect(run.text).not.toContain('no TXT value of this run remains');
    expect(snapshotTree(live('www'))).toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    await proxy.close();
    proxy = undefined;
    await expectCleanNextRun();
  }, 180_000);

  it('a DNS server reachable over TCP only (nothing on its UDP port) for resolution, propagation, update, read-back and the leftover check: ISSUED, exit 0', async () => {
    const before = serialOf(join(live('www'), 'cert.pem'));
    proxy = await startDnsProxy({ upstream: s.bind.address, updatePolicy: () => 'forward', udp: 'closed' });
    const config = writeConfig(s, 'tcp-only', {
      certificates: [WWW],
      nameservers: [at()],
      updateServer: at(),
    });
    // the resolver too (CreateOrder follows the _acme-challenge CNAME through it)
    const patched = JSON.parse(readFileSync(config, 'utf8')) as {
      delegation: { resolver: string };
    };
    patched.delegation.resolver = at();
    writeFileSync(config, JSON.stringify(patched));
    const run = await runInProcess(s, config, { force: true });

    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('ISSUED   www');
    expect(proxy.transports.udp).toBe(0);
    expect(proxy.transports.tcp).toBeGreaterThanOrEqual(4);
    expect(run.text).toContain(`delegated zone: no TXT value of this run remains (checked at ${at()})`);
    expect(serialOf(join(live('www'), 'cert.pem'))).not.toBe(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    await proxy.close();
    proxy = undefined;
    await expectCleanNextRun();
  }, 180_000);

  it('a name server whose every UDP answer is truncated (TC): each query is asked again over TCP, ISSUED, exit 0', async () => {
    proxy = await startDnsProxy({ upstream: s.bind.address, updatePolicy: () => 'forward', udp: 'truncate' });
    const config = writeConfig(s, 'truncating', { certificates: [WWW], nameservers: [at()] });
    const run = await runInProcess(s, config, { force: true });

    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('ISSUED   www');
    expect(proxy.transports.udp).toBeGreaterThanOrEqual(2);
    expect(proxy.transports.tcp).toBe(proxy.transports.udp);
    expect(run.text).toContain(`delegated zone: no TXT value of this run remains (checked at ${at()})`);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    await proxy.close();
    proxy = undefined;
    await expectCleanNextRun();
  }, 180_000);

  it('an add that got no answer reaches the server after Cleanup: the run never says no value remains, exits 3, keeps the value recorded; the next run sweeps it', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    proxy = await startDnsProxy({
      upstream: s.bind.address,
      // the first UPDATE (PublishRecords' add) goes unanswered and reaches BIND only later
      updatePolicy: (n) => (n === 1 ? { hold: held } : 'forward'),
    });
    const config = writeConfig(s, 'late-update', { certificates: [WWW], updateServer: at() });
    const run = await runInProcess(s, config, { force: true });

    // the add timed out, was retried (answered), the certificate issued, Cleanup removed the value
    expect(run.text).toMatch(
      /www\s+PublishRecords\s+failed\s+\d+ ms {2}DnsUpdateUnavailableError: .*no answer over TCP within 5000 ms; the server may still apply it/,
    );
    expect(run.text).toMatch(/www\s+PublishRecords\s+retrying/);
    expect(run.text).toMatch(/www\s+PublishRecords\s+ok/);
    expect(run.text).toContain('ISSUED   www');
    expect(run.text).toMatch(/www\s+Cleanup\s+ok/);
    // the truth: the unanswered UPDATE may still add the value, so nothing is called gone
    expect(run.result.exitCode).toBe(EXIT_CODES.valuesMayRemain);
    expect(run.text).toContain(
      `delegated zone: 1 TXT value(s) of this run were sent in an UPDATE that got no answer: ${WWW_FQDN} (1 value); the server may still apply it, so they stay recorded as pending and the next run removes them`,
    );
    expect(run.text).not.toContain('no TXT value of this run remains');
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    const stored = snapshotTree(live('www'));
    const marked = pendingValues(s.workdir);
    expect(marked).toEqual([
      expect.objectContaining({ fqdn: WWW_FQDN, certificate: 'www', addUnanswered: true }),
    ]);

    // The late UPDATE arrives: BIND applies it, after Cleanup.
    release();
    expect(await Promise.all(proxy.late)).toEqual([0]);
    expect(await zoneValues(s.bind)).toEqual([`${WWW_FQDN}=${marked[0]?.value}`]);
    await proxy.close();
    proxy = undefined;

    // The next run's sweep removes it (the run that wrote it is over), then issues cleanly.
    const faultyExecution = run.result.execution?.batches[0]?.executionArn;
    await expectCleanNextRun([
      `SWEPT    ${WWW_FQDN} (1 value) of www, left by ${faultyExecution}, which is over: its execution ended SUCCEEDED`,
    ]);
    expect(snapshotTree(live('www'))).not.toEqual(stored);
  }, 180_000);
});
