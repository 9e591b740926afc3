import { join } from 'node:path';
import { EXIT_CODES } from '../../local/run-local';
import { serialOf, snapshotTree } from '../support/certificates';
import { type DnsProxy, RCODE, startDnsProxy } from '../support/dns-proxy';
import {
  alerts,
  countByName,
  type FaultServers,
  pendingValues,
  runInProcess,
  startFaultServers,
  valuesText,
  verifyLive,
  writeConfig,
  writtenByName,
  zoneValues,
} from '../support/fault-harness';

/**
 * Cleanup fails after the certificate was issued. An RFC 2136 server (a
 * loopback proxy in front of a real BIND) takes the first UPDATE and refuses every later one, so
 * the order's values are published, validated by Pebble, the certificate is stored, and then
 * their removal is refused. Issued means issued: the run says ISSUED with a cleanup warning
 * naming each value left, alerts, exits 3; the values stay owned, and the next run (the fault
 * gone) removes them, says so, and issues.
 */
describe('fault: Cleanup refused after issuance', () => {
  let s: FaultServers;
  let proxy: DnsProxy | undefined;
  const MULTI = { name: 'multi', domains: ['example.test', '*.example.test', 'www.example.test'] };
  const APEX_FQDN = 'example.test.acme.certflow.test';
  const WWW_FQDN = 'www.example.test.acme.certflow.test';
  const live = (name: string) => join(s.workdir, 'certs', 'live', name);

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-cleanup-' });
  });
  afterAll(async () => {
    await proxy?.close();
    await s?.stop();
  });

  it('reports the certificate ISSUED with a warning listing each value left, alerts, exits 3; the next run sweeps the values and issues', async () => {
    // A previous certificate, issued with a healthy server.
    const direct = writeConfig(s, 'direct', { certificates: [MULTI] });
    const first = await runInProcess(s, direct);
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
    const previousSerial = serialOf(join(live('multi'), 'cert.pem'));

    // The fault: the server takes the first UPDATE (PublishRecords) and refuses every later one.
    proxy = await startDnsProxy({
      upstream: s.bind.address,
      updatePolicy: (n) => (n === 1 ? 'forward' : { rcode: RCODE.REFUSED }),
      // a signed refusal, as BIND answers a change its update policy denies
      signWith: s.bind.tsig,
    });
    const proxied = writeConfig(s, 'refusing', {
      certificates: [MULTI],
      updateServer: `127.0.0.1:${proxy.address.port}`,
    });
    const faulty = await runInProcess(s, proxied, { force: true });

    // The fault happened as designed: one UPDATE forwarded, the removal refused (not retried: a
    // refusal is not transient), and the read-back queries passed through.
    expect(proxy.updates).toEqual({ seen: 2, forwarded: 1, answered: 1 });
    expect(proxy.queries).toBeGreaterThanOrEqual(2);

    // The outcome reported is the true one: issued, with the cleanup warning, exit code 3.
    expect(faulty.result.exitCode).toBe(EXIT_CODES.valuesMayRemain);
    expect(faulty.result.summary).toMatchObject({ issuedCount: 1, failedCount: 0, warningCount: 1 });
    expect(faulty.text).toMatch(/multi\s+FinalizeAndStore\s+ok/);
    expect(faulty.text).toMatch(/multi\s+Cleanup\s+failed\s+\d+ ms {2}DnsUpdateError: .*REFUSED/);
    expect(faulty.text).toMatch(/multi\s+RecordValuesLeft\s+ok/);
    expect(faulty.text).toContain('ISSUED   multi');
    expect(faulty.text).not.toContain('FAILED');
    const warning = faulty.lines.find((l) => l.startsWith('  WARNING:  cleanup failed'));
    expect(warning).toContain(
      `cleanup failed (DnsUpdateError: DNS UPDATE of zone acme.certflow.test at 127.0.0.1:${proxy.address.port} refused (REFUSED`,
    );
    // What the run wrote and could not remove, from its own pending records: in the zone, and
    // named in the warning, the end-of-run check and the alert, counted by value.
    const written = writtenByName(s.workdir);
    const total = Object.values(written).reduce((a, b) => a + b, 0);
    expect(Object.keys(written).every((n) => n === APEX_FQDN || n === WWW_FQDN)).toBe(true);
    expect(total).toBeGreaterThanOrEqual(1);
    expect(countByName(await s.bind.axfrTxt())).toEqual(written);
    const valuesLeft =
      /TXT values may remain: (.*); they stay recorded as pending and the next run removes them$/
        .exec(warning ?? '')?.[1]
        ?.split(', ')
        .sort();
    expect(valuesLeft).toEqual(
      Object.entries(written)
        .map(([n, c]) => `${n} (${valuesText(c)})`)
        .sort(),
    );
    // The end-of-run check asked BIND itself: it counts the values (usually 3), not the names (2).
    const remain = faulty.lines.find((l) => l.startsWith('WARNING: '));
    expect(remain).toMatch(
      new RegExp(`^WARNING: ${total} TXT value\\(s\\) of this run remain in the delegated zone: `),
    );
    for (const [n, c] of Object.entries(written))
      expect(remain).toContain(`${n} (${valuesText(c)} at ${s.dns})`);
    expect(faulty.text).not.toContain('no TXT value of this run remains');

    // The alert names the certificate, the error and each value left.
    const left = alerts(s.workdir).filter((a) => a.type === 'values-left-behind');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ certificate: 'multi', error: 'DnsUpdateError' });
    expect(
      Object.fromEntries(
        ((left[0]?.left ?? []) as { fqdn: string; values: number }[]).map((l) => [l.fqdn, l.values]),
      ),
    ).toEqual(written);
    expect(String(left[0]?.message)).toContain('REFUSED');

    // The new certificate is stored whole, and verifies.
    const issuedSerial = faulty.result.summary?.issued[0];
    expect(issuedSerial?.certificate).toBe('multi');
    const newSerial = serialOf(join(live('multi'), 'cert.pem'));
    expect(newSerial).not.toBe(previousSerial);
    expect(await verifyLive(s, 'multi')).toMatch(/: OK$/);
    const stored = snapshotTree(live('multi'));

    // The fault is gone (the proxy is closed; the config points at BIND itself): the next run
    // sweeps the values left behind, says so, and the certificate stays as it was (not due).
    await proxy.close();
    proxy = undefined;
    const next = await runInProcess(s, direct);
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    // the batch execution that wrote the values owns them
    const faultyExecution = faulty.result.execution?.batches[0]?.executionArn;
    const swept = next.lines.filter((l) => l.startsWith('SWEPT')).sort();
    expect(swept).toEqual(
      Object.entries(written)
        .map(
          ([n, c]) =>
            `SWEPT    ${n} (${valuesText(c)}) of multi, left by ${faultyExecution}, which is over: its execution ended SUCCEEDED`,
        )
        .sort(),
    );
    expect(next.text).toMatch(/NOT DUE {2}multi: valid until/);
    expect(next.result.summary?.swept).toHaveLength(Object.keys(written).length);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
    expect(snapshotTree(live('multi'))).toEqual(stored);
    // a sweep is reported in the run summary alert
    expect(alerts(s.workdir).at(-1)).toMatchObject({
      type: 'run-summary',
      swept: next.result.summary?.swept,
    });

    // And the next issuance works, with nothing left behind.
    const again = await runInProcess(s, direct, { force: true });
    expect(again.result.exitCode).toBe(EXIT_CODES.ok);
    expect(again.text).toContain('ISSUED   multi');
    expect(again.text).toContain('delegated zone: no TXT value of this run remains');
    expect(serialOf(join(live('multi'), 'cert.pem'))).not.toBe(newSerial);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });
});
