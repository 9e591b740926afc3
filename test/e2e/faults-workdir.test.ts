import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTime } from '../../lambdas/adapters/pending/local-run-liveness';
import { EXIT_CODES } from '../../local/run-local';
import { serialOf, snapshotTree } from '../support/certificates';
import {
  type FaultServers,
  killClis,
  pendingValues,
  runInProcess,
  startCli,
  startFaultServers,
  verifyLive,
  writeConfig,
  zoneValues,
} from '../support/fault-harness';

/** The pid of a process that has exited (a run killed outright leaves such an owner behind). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

/** Fill the file system holding `dir` to the last byte (a file written until ENOSPC). */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  }
  // What is left is less than a chunk: fill it byte-wise-ish.
  try {
    for (;;) writeSync(fd, Buffer.alloc(512, 1));
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  // tmpfs gives files whole pages: the logs being appended to still have the rest of their
  // last page. Fill that too (with empty lines), so the next line written to them finds no space.
  for (const run of readdirSync(join(dir, 'runs'))) {
    for (const log of ['handlers.log', 'metrics.jsonl']) {
      const file = join(dir, 'runs', run, log);
      if (!existsSync(file)) continue;
      const logFd = openSync(file, 'a');
      try {
        for (;;) writeSync(logFd, '\n');
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(logFd);
      }
    }
  }
  return filler;
}

/**
 * What a work directory holds besides certificates (the run's record and logs, the new-order
 * budget's lock, pending-record files being written), when it goes wrong: a full disk after the
 * certificate is stored, a lock or a temporary file left by a run killed outright, a `--workdir`
 * that is a file.
 */
describe('fault: the work directory', () => {
  let s: FaultServers;
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const live = () => join(s.workdir, 'certs', 'live', 'www');
  let config: string;

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-workdir-' });
    config = writeConfig(s, 'direct', {
      certificates: [WWW],
      newOrderLimit: { orders: 100, windowMinutes: 60 },
    });
    const first = await runInProcess(s, config);
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterAll(async () => {
    await killClis();
    await s?.stop();
  });

  describe('full after FinalizeAndStore (a 16 MB tmpfs as the work directory; the store elsewhere)', () => {
    const mount = mkdtempSync(join(tmpdir(), 'certflow-faults-full-'));
    beforeAll(() => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mount]);
    });
    afterAll(() => {
      spawnSync('umount', [mount]);
      rmSync(mount, { recursive: true, force: true });
    });

    it('the certificate is ISSUED, exit 0; the report names each file it could not write with ENOSPC; nothing is left in the zone; after space is freed the next run is clean', async () => {
      const before = serialOf(join(live(), 'cert.pem'));
      let filler: string | undefined;
      const run = await runInProcess(s, config, {
        force: true,
        workdir: mount,
        onLine: (line) => {
          if (!filler && /www\s+FinalizeAndStore\s+ok/.test(line)) filler = fill(mount);
        },
      });
      expect(filler).toBeDefined();
      expect(run.result.exitCode).toBe(EXIT_CODES.ok);
      expect(run.text).toContain('1 issued, 0 failed, 0 deferred, 0 not due');
      expect(run.text).toContain('ISSUED   www');
      const runDir = run.result.runDirectory;
      const warnings = run.lines.filter((l) => l.startsWith('WARNING'));
      const warning = (file: string) =>
        `WARNING: could not write ${file} (ENOSPC: no space left on device, write); the outcome above stands, that record is incomplete`;
      // Each file once, with its path and the OS error; the handlers' logs and metrics among them
      // (which of the two depends on what a removed pending record freed: Cleanup runs after the fill).
      expect(warnings).toEqual(expect.arrayContaining([warning(join(runDir, 'history.json'))]));
      expect(warnings).toEqual(expect.arrayContaining([warning(join(runDir, 'execution.json'))]));
      expect(
        warnings.some((w) =>
          [warning(join(runDir, 'handlers.log')), warning(join(runDir, 'metrics.jsonl'))].includes(w),
        ),
      ).toBe(true);
      expect(new Set(warnings).size).toBe(warnings.length);
      for (const w of warnings) expect(w).toMatch(/^WARNING: could not write \/\S+ \(ENOSPC: /);
      expect(run.text).not.toMatch(/certflow local: Error/);
      expect(run.text).toContain(`delegated zone: no TXT value of this run remains (checked at ${s.dns})`);
      // The new certificate is in place and verifies.
      expect(serialOf(join(live(), 'cert.pem'))).not.toBe(before);
      expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(mount)).toEqual([]);

      rmSync(filler as string);
      const next = await runInProcess(s, config, { force: true, workdir: mount });
      expect(next.result.exitCode).toBe(EXIT_CODES.ok);
      expect(next.text).not.toContain('WARNING: could not write');
      expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(mount)).toEqual([]);
    });
  });

  it('a new-order budget lock left by a run that is gone is taken over at once: the run issues, exit 0, and leaves no lock', async () => {
    const budgets = join(s.workdir, 'state', 'order-budget');
    const [budget] = readdirSync(budgets).filter((n) => n.endsWith('.json'));
    expect(budget).toBeDefined();
    const lock = join(budgets, `${budget}.lock`);
    writeFileSync(
      lock,
      `${JSON.stringify({ pid: deadPid(), startedAt: '1', host: hostname(), takenAt: new Date().toISOString() })}\n`,
    );
    const before = snapshotTree(live());

    const run = await runInProcess(s, config, { force: true });

    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('ISSUED   www');
    expect(run.text).not.toContain('is held by');
    expect(existsSync(lock)).toBe(false);
    expect(snapshotTree(live())).not.toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  it('a lock held by a live run is respected: the run waits, then fails SelectDue naming the lock and its owner, exit 1; the previous certificate stays', async () => {
    const budgets = join(s.workdir, 'state', 'order-budget');
    const [budget] = readdirSync(budgets).filter((n) => n.endsWith('.json'));
    const lock = join(budgets, `${budget}.lock`);
    // This test process is alive: its lock must not be taken.
    const startedAt = processStartTime(process.pid);
    writeFileSync(lock, `${JSON.stringify({ pid: process.pid, startedAt, host: hostname() })}\n`);
    const before = snapshotTree(live());
    try {
      const run = await runInProcess(s, config, { force: true });
      expect(run.result.exitCode).toBe(EXIT_CODES.failed);
      expect(run.text).toContain(`is held by process ${process.pid} on ${hostname()}`);
      expect(existsSync(lock)).toBe(true);
      expect(snapshotTree(live())).toEqual(before);
      expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    } finally {
      rmSync(lock, { force: true });
    }
    const next = await runInProcess(s, config, { force: true });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  it("pending-record temporary files of writers that are gone are removed by the next run; a live writer's is kept", async () => {
    const pending = join(s.workdir, 'state', 'pending');
    mkdirSync(pending, { recursive: true });
    const dead = deadPid();
    // As a run killed between writing a record and renaming it left it (the name certflow wrote before it named its start time too).
    const left = join(pending, `0123456789abcdef0123456789abcdef.json.${dead}.0a1b2c3d.tmp`);
    const leftNamed = join(pending, `fedcba9876543210fedcba9876543210.json.${dead}-12345.0a1b2c3d.tmp`);
    const liveWriter = join(pending, `00000000000000000000000000000000.json.${process.pid}.0a1b2c3d.tmp`);
    for (const f of [left, leftNamed, liveWriter]) writeFileSync(f, '{"fqdn":');

    const run = await runInProcess(s, config, { force: true });

    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(existsSync(left)).toBe(false);
    expect(existsSync(leftNamed)).toBe(false);
    expect(existsSync(liveWriter)).toBe(true);
    rmSync(liveWriter);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(readdirSync(pending)).toEqual([]);
  });

  it('--workdir naming a file: exit 2 with a message naming the option and the fix; nothing ordered, the certificate untouched', async () => {
    const file = join(s.workdir, 'not-a-directory');
    writeFileSync(file, 'a file\n');
    const before = snapshotTree(live());
    for (const workdir of [file, join(file, 'below')]) {
      const run = startCli(['local', '--external', '-c', config, '-w', workdir, '--force']);
      expect(await run.exited).toEqual({ code: EXIT_CODES.badConfig, signal: null });
      expect(run.stdout()).toContain(
        `certflow local: --workdir ${workdir}: it, or a directory above it, is a file, not a directory (`,
      );
      expect(run.stdout()).toContain('point --workdir at a directory (it is created if missing)');
      expect(run.stdout() + run.stderr()).not.toMatch(/^Error|at .*\.ts:\d+/m);
    }
    expect(snapshotTree(live())).toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
  });
});
