import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_CODES } from '../../local/run-local';
import { freePort } from '../support/bind-fixture';
import { snapshotTree } from '../support/certificates';
import {
  countByName,
  type FaultServers,
  killClis,
  pendingValues,
  runInProcess,
  startCli,
  startFaultServers,
  valuesText,
  verifyLive,
  writeConfig,
  writtenByName,
  zoneValues,
} from '../support/fault-harness';
import { leftoverProcesses } from '../support/processes';

/**
 * Interrupted runs: a `certflow local` process killed (`kill -9`) or
 * interrupted (Ctrl-C) after it published its TXT values. Killed, it cannot clean up: the next
 * run must find the orphaned values (their owner process is gone), report and remove them, then
 * issue. Interrupted, it removes what it published itself before it exits 130, and stops the
 * servers it started.
 */
describe('fault: the run is killed or interrupted', () => {
  let s: FaultServers;
  const APEX = { name: 'apex', domains: ['example.test', '*.example.test'] };
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const APEX_FQDN = 'example.test.acme.certflow.test';
  const WWW_FQDN = 'www.example.test.acme.certflow.test';
  const live = (name: string) => join(s.workdir, 'certs', 'live', name);
  let config: string;

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-killed-' });
    config = writeConfig(s, 'direct', { certificates: [APEX, WWW] });
    const first = await runInProcess(s, config);
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterAll(async () => {
    await killClis();
    await s?.stop();
  });

  const cli = (...extra: string[]) =>
    startCli(['local', '--external', '-c', config, '-w', s.workdir, '--force', ...extra]);

  it('kill -9 after PublishRecords: the values stay, owned; the next run reports them (owner process gone), removes them, then issues', async () => {
    const before = { apex: snapshotTree(live('apex')), www: snapshotTree(live('www')) };
    const run = cli();
    await run.waitForLine(/apex\s+PublishRecords\s+ok/);
    await run.waitForLine(/www\s+PublishRecords\s+ok/);
    run.signal('SIGKILL');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // The fault: both certificates' values are orphaned in the zone, and recorded as pending
    // with the process that wrote them.
    const written = writtenByName(s.workdir);
    expect(Object.keys(written).length).toBeGreaterThan(0);
    expect(Object.keys(written).every((n) => n === APEX_FQDN || n === WWW_FQDN)).toBe(true);
    expect(countByName(await s.bind.axfrTxt())).toEqual(written);
    const orphans = pendingValues(s.workdir) as unknown as {
      fqdn: string;
      certificate: string;
      owner: { process: { pid: number } };
    }[];
    const owner = orphans[0]?.owner.process.pid;
    expect(new Set(orphans.map((o) => o.owner.process.pid))).toEqual(new Set([owner]));
    // The previous certificates are untouched.
    expect(snapshotTree(live('apex'))).toEqual(before.apex);
    expect(snapshotTree(live('www'))).toEqual(before.www);

    // The next run reports each orphaned name with its value count and why it is over, removes
    // them, and issues both certificates.
    const next = await runInProcess(s, config, { force: true });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    const swept = next.lines.filter((l) => l.startsWith('SWEPT')).sort();
    const certificateOf = (fqdn: string) => (fqdn === APEX_FQDN ? 'apex' : 'www');
    expect(swept).toEqual(
      Object.entries(written)
        .sort()
        .map(([fqdn, n]) =>
          expect.stringMatching(
            new RegExp(
              `^SWEPT {4}${fqdn.replace(/\./g, '\\.')} \\(${valuesText(n)}\\) of ${certificateOf(fqdn)}, left by arn:aws:states:\\S+:execution:certflow-IssueBatch:local-\\S+-batch-1, which is over: its process ${owner} is gone$`,
            ),
          ),
        ),
    );
    expect(next.result.summary?.issued.map((i) => i.certificate).sort()).toEqual(['apex', 'www']);
    expect(await verifyLive(s, 'apex')).toMatch(/: OK$/);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  it.each([
    { why: 'an unknown --certificate', certificates: ['no-such-certificate'], caDown: false },
    { why: 'the CA down', certificates: undefined, caDown: true },
  ])(
    'kill -9 after PublishRecords, then a run that fails at SelectDue ($why): it still sweeps first (SWEPT lines, exit 1), the previous certificates stay; one more run leaves nothing',
    async ({ certificates, caDown }) => {
      const before = { apex: snapshotTree(live('apex')), www: snapshotTree(live('www')) };
      const run = cli('--certificate', 'apex');
      await run.waitForLine(/apex\s+PublishRecords\s+ok/);
      run.signal('SIGKILL');
      expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const written = writtenByName(s.workdir);
      expect(Object.keys(written)).toEqual([APEX_FQDN]);
      expect(countByName(await s.bind.axfrTxt())).toEqual(written);

      const failing = caDown
        ? writeConfig(s, 'ca-down', {
            certificates: [APEX, WWW],
            directory: `https://127.0.0.1:${await freePort()}/dir`,
          })
        : config;
      const next = await runInProcess(s, failing, { force: true, certificates });
      expect(next.result.exitCode).toBe(EXIT_CODES.failed);
      expect(next.text).toMatch(
        caDown
          ? /certflow local: the run failed before its summary: SelectDue failed: AcmeRequestError: .*ECONNREFUSED/
          : /certflow local: the run failed before its summary: SelectDue failed: InvalidInputError: run input field "certificates" names unknown certificate\(s\) no-such-certificate/,
      );
      // The sweep ran before SelectDue: the orphaned values are gone, and said so.
      expect(next.lines.filter((l) => l.startsWith('SWEPT'))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^SWEPT {4}${APEX_FQDN.replace(/\./g, '\\.')} \\(${valuesText(written[APEX_FQDN] ?? 0)}\\) of apex, left by \\S+, which is over: its process \\d+ is gone$`,
          ),
        ),
      ]);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
      expect(snapshotTree(live('apex'))).toEqual(before.apex);
      expect(snapshotTree(live('www'))).toEqual(before.www);
      expect(await verifyLive(s, 'apex')).toMatch(/: OK$/);
      expect(await verifyLive(s, 'www')).toMatch(/: OK$/);

      const after = await runInProcess(s, config, { force: true, certificates: ['apex'] });
      expect(after.result.exitCode).toBe(EXIT_CODES.ok);
      expect(after.lines.filter((l) => l.startsWith('SWEPT'))).toEqual([]);
      expect(after.text).toContain('ISSUED   apex');
      expect(await verifyLive(s, 'apex')).toMatch(/: OK$/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
    },
  );

  it.each([
    { signal: 'SIGINT', how: 'Ctrl-C (SIGINT)', code: 130 },
    { signal: 'SIGTERM', how: 'kill (SIGTERM)', code: 143 },
  ] as const)(
    '$how after PublishRecords: the run removes the values it published, exits $code, leaves nothing pending; the next run issues with nothing to sweep',
    async ({ signal, code }) => {
      const before = { apex: snapshotTree(live('apex')), www: snapshotTree(live('www')) };
      const run = cli('--certificate', 'apex');
      await run.waitForLine(/apex\s+PublishRecords\s+ok/);
      const written = writtenByName(s.workdir);
      expect(Object.keys(written)).toEqual([APEX_FQDN]);
      expect(countByName(await s.bind.axfrTxt())).toEqual(written);
      run.signal(signal);
      const exit = await run.exited;
      expect(exit).toEqual({ code: EXIT_CODES.interrupted[signal], signal: null });
      expect(exit.code).toBe(code);
      expect(run.stdout()).toContain(
        `certflow local: ${signal}: stopping the run and removing the TXT values it published`,
      );
      expect(run.stdout()).toContain(
        `certflow local: removed ${written[APEX_FQDN]} TXT value(s) this run had published`,
      );
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
      expect(snapshotTree(live('apex'))).toEqual(before.apex);
      expect(snapshotTree(live('www'))).toEqual(before.www);

      const next = await runInProcess(s, config, { force: true, certificates: ['apex'] });
      expect(next.result.exitCode).toBe(EXIT_CODES.ok);
      expect(next.lines.filter((l) => l.startsWith('SWEPT'))).toEqual([]);
      expect(next.text).toContain('ISSUED   apex');
      expect(await zoneValues(s.bind)).toEqual([]);
    },
  );

  it('Ctrl-C with the bundled servers: values removed, exit 130, and the BIND and Pebble it started are stopped', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'certflow-faults-sigint-'));
    const mark = randomUUID();
    const run = startCli(['local', '-w', workdir, '--no-install'], { FAULTS_RUN_MARK: mark });
    await run.waitForLine(/PublishRecords\s+ok/);
    const servers = leftoverProcesses('FAULTS_RUN_MARK', mark).map((p) => p.comm);
    expect(servers.sort()).toEqual(expect.arrayContaining(['named', 'pebble']));
    run.signal('SIGINT');
    expect(await run.exited).toEqual({ code: EXIT_CODES.interrupted.SIGINT, signal: null });
    expect(run.stdout()).toMatch(/certflow local: removed \d+ TXT value\(s\) this run had published/);
    expect(pendingValues(workdir)).toEqual([]);
    // Nothing it started is left running.
    expect(leftoverProcesses('FAULTS_RUN_MARK', mark)).toEqual([]);
  });

  it('kill -9 of a run with the bundled servers takes its BIND and Pebble with it', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'certflow-faults-sigkill-'));
    const mark = randomUUID();
    const run = startCli(['local', '-w', workdir, '--no-install'], { FAULTS_RUN_MARK: mark });
    await run.waitForLine(/PublishRecords\s+ok/);
    expect(leftoverProcesses('FAULTS_RUN_MARK', mark).map((p) => p.comm)).toEqual(
      expect.arrayContaining(['named', 'pebble']),
    );
    // Only the certflow process, as `kill -9 <pid>` would: the servers are in their own groups.
    run.child.kill('SIGKILL');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // They get SIGTERM at its death (PR_SET_PDEATHSIG) and exit within moments.
    let left = leftoverProcesses('FAULTS_RUN_MARK', mark);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = leftoverProcesses('FAULTS_RUN_MARK', mark);
    }
    expect(left).toEqual([]);

    // Its server directory (BIND's and Pebble's state, the run's TSIG key) could not be removed by
    // it; the next run with bundled servers removes it, and says so.
    const serverDirs = readdirSync(tmpdir())
      .filter((n) => n.startsWith('certflow-servers-'))
      .map((n) => join(tmpdir(), n))
      .filter((d) => {
        try {
          return JSON.parse(readFileSync(join(d, 'owner.json'), 'utf8')).pid === run.child.pid;
        } catch {
          return false;
        }
      });
    expect(serverDirs).toHaveLength(1);
    const [abandoned] = serverDirs as [string];
    expect(existsSync(join(abandoned, 'tsig.key'))).toBe(true);
    const next = startCli(['local', '-w', workdir, '--no-install']);
    expect(await next.exited).toEqual({ code: EXIT_CODES.ok, signal: null });
    expect(next.stdout()).toContain(`certflow local: removed ${abandoned}, left by a run that was killed`);
    expect(existsSync(abandoned)).toBe(false);
  });
});
