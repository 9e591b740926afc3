import { join } from 'node:path';
import { EXIT_CODES } from '../../local/run-local';
import { freePort } from '../support/bind-fixture';
import { serialOf, snapshotTree } from '../support/certificates';
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
 * The end-of-run leftover check when a server does not answer. A run may say
 * "no TXT value of this run remains" only when every server answered; otherwise it names each
 * server it could not check, exits non-zero, and the values stay owned: once the server is back,
 * the next run removes them (counting values, not names) and issues.
 */
describe('fault: a DNS server that does not answer', () => {
  let s: FaultServers;
  const APEX = { name: 'apex', domains: ['example.test', '*.example.test'] };
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const APEX_FQDN = 'example.test.acme.certflow.test';
  const live = (name: string) => join(s.workdir, 'certs', 'live', name);
  let config: string;

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-unanswered-' });
    config = writeConfig(s, 'direct', {
      certificates: [APEX, WWW],
      timing: { propagationMaxChecks: 3 },
    });
    const first = await runInProcess(s, config);
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterAll(async () => {
    await s?.stop();
  });
  // A test that failed halfway leaves BIND stopped: bring it back for the next one.
  let crashedBind = false;
  afterEach(async () => {
    if (crashedBind) await s.bind.restart();
    crashedBind = false;
  });

  /** A run with the fault gone: it sweeps what the faulty run left (by value), issues, leaves nothing. */
  const expectRecovery = async (faultyExecution: string | undefined, left: Record<string, number>) => {
    const next = await runInProcess(s, config, { force: true, certificates: ['apex'] });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    const swept = next.lines.filter((l) => l.startsWith('SWEPT'));
    expect(swept.length).toBe(Object.keys(left).length);
    for (const [fqdn, values] of Object.entries(left)) {
      expect(swept).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^SWEPT {4}${fqdn.replace(/\./g, '\\.')} \\(${valuesText(values)}\\) of apex, left by ${faultyExecution?.replace(/[.$]/g, '\\$&')}, which is over: its execution ended (FAILED|SUCCEEDED)$`,
          ),
        ),
      );
    }
    expect(next.text).toContain('ISSUED   apex');
    expect(next.text).toContain(`delegated zone: no TXT value of this run remains (checked at ${s.dns})`);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
    expect(await verifyLive(s, 'apex')).toMatch(/: OK$/);
  };

  it('BIND stops during the propagation wait: the run fails, says it could not check BIND (never "none remain"), exits 1, keeps the previous certificate; after a restart the next run sweeps the two values and issues', async () => {
    const before = snapshotTree(live('apex'));
    const wwwBefore = snapshotTree(live('www'));
    let crashed = false;
    const faulty = await runInProcess(s, config, {
      force: true,
      certificates: ['apex'],
      onLine: (line) => {
        if (!crashed && /apex\s+PublishRecords\s+ok/.test(line)) {
          crashed = true;
          crashedBind = true;
          s.bind.crash();
        }
      },
    });
    expect(crashed).toBe(true);
    expect(faulty.result.exitCode).toBe(EXIT_CODES.failed);
    expect(faulty.result.summary?.failed).toHaveLength(1);
    expect(faulty.result.summary?.failed[0]?.certificate).toBe('apex');
    expect(faulty.text).toMatch(/FAILED {3}apex at \w+: \w+Error/);
    expect(faulty.text).toMatch(
      /apex\s+CleanupAfterFailure\s+failed\s+\d+ ms {2}DnsUpdateUnavailableError: .*ECONNREFUSED/,
    );
    expect(faulty.text).toContain(`delegated zone: could not check ${s.dns} (`);
    expect(faulty.text).toContain('values of this run may remain there');
    expect(faulty.text).not.toContain('no TXT value of this run remains');
    expect(alerts(s.workdir).filter((a) => a.type === 'certificate-failed')).toEqual([
      expect.objectContaining({ certificate: 'apex', step: faulty.result.summary?.failed[0]?.step }),
    ]);
    // the previous certificates are untouched, byte for byte
    expect(snapshotTree(live('apex'))).toEqual(before);
    expect(snapshotTree(live('www'))).toEqual(wwwBefore);

    // BIND comes back with its journal: the two values are still there, and still owned.
    await s.bind.restart();
    crashedBind = false;
    const written = writtenByName(s.workdir);
    expect(Object.keys(written)).toEqual([APEX_FQDN]);
    expect(countByName(await s.bind.axfrTxt())).toEqual(written);

    await expectRecovery(faulty.result.execution?.batches[0]?.executionArn, written);
  });

  it('BIND stops after the certificate is stored: ISSUED with a cleanup warning, could not check BIND, exit 3; after a restart the next run sweeps and issues', async () => {
    const wwwBefore = snapshotTree(live('www'));
    let crashed = false;
    const faulty = await runInProcess(s, config, {
      force: true,
      certificates: ['apex'],
      onLine: (line) => {
        if (!crashed && /apex\s+FinalizeAndStore\s+ok/.test(line)) {
          crashed = true;
          crashedBind = true;
          s.bind.crash();
        }
      },
    });
    expect(crashed).toBe(true);
    // Issued means issued: the certificate is stored and reported so, with the warning.
    expect(faulty.result.exitCode).toBe(EXIT_CODES.valuesMayRemain);
    expect(faulty.result.summary).toMatchObject({ issuedCount: 1, failedCount: 0, warningCount: 1 });
    expect(faulty.text).toContain('ISSUED   apex');
    expect(faulty.text).toMatch(/apex\s+Cleanup\s+retrying/);
    expect(faulty.text).toContain(
      `  WARNING:  cleanup failed (DnsUpdateUnavailableError: DNS UPDATE of zone acme.certflow.test at ${s.dns} failed:`,
    );
    const written = writtenByName(s.workdir);
    expect(Object.keys(written)).toEqual([APEX_FQDN]);
    expect(faulty.text).toContain(
      `TXT values may remain: ${APEX_FQDN} (${valuesText(written[APEX_FQDN] ?? 0)})`,
    );
    expect(faulty.text).toContain(`delegated zone: could not check ${s.dns} (`);
    expect(faulty.text).not.toContain('no TXT value of this run remains');
    expect(
      alerts(s.workdir)
        .filter((a) => a.type === 'values-left-behind')
        .at(-1),
    ).toMatchObject({
      certificate: 'apex',
      error: 'DnsUpdateUnavailableError',
      left: [{ fqdn: APEX_FQDN, values: written[APEX_FQDN] }],
    });
    const issued = serialOf(join(live('apex'), 'cert.pem'));
    expect(snapshotTree(live('www'))).toEqual(wwwBefore);

    await s.bind.restart();
    crashedBind = false;
    expect(await verifyLive(s, 'apex')).toMatch(/: OK$/);
    expect(countByName(await s.bind.axfrTxt())).toEqual(written);

    await expectRecovery(faulty.result.execution?.batches[0]?.executionArn, written);
    expect(serialOf(join(live('apex'), 'cert.pem'))).not.toBe(issued);
  });

  it('a nameserver on a closed port: the run names it as not checked (never "none remain"), exits 1, removes its own values; the next run with the right servers succeeds', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const before = snapshotTree(live('www'));
    const withClosed = writeConfig(s, 'closed-ns', {
      certificates: [APEX, WWW],
      nameservers: [s.dns, closed],
      timing: { propagationMaxChecks: 2 },
    });
    const faulty = await runInProcess(s, withClosed, { force: true, certificates: ['www'] });

    expect(faulty.result.exitCode).toBe(EXIT_CODES.failed);
    expect(faulty.result.summary?.failed[0]).toMatchObject({
      certificate: 'www',
      step: 'CheckPropagation',
      error: 'PropagationTimeoutError',
    });
    expect(faulty.text).toMatch(/www\s+CleanupAfterFailure\s+ok/);
    expect(faulty.text).toContain(`delegated zone: could not check ${closed} (`);
    expect(faulty.text).not.toContain('no TXT value of this run remains');
    expect(faulty.text).not.toContain(`could not check ${s.dns}`);
    expect(snapshotTree(live('www'))).toEqual(before);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);

    const next = await runInProcess(s, config, { force: true, certificates: ['www'] });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toContain('ISSUED   www');
    expect(next.lines.filter((l) => l.startsWith('SWEPT'))).toEqual([]);
    expect(await zoneValues(s.bind)).toEqual([]);
  });
});
