import { COMPACT_AFTER } from '../../local/report';
import { EXIT_CODES } from '../../local/run-local';
import { type FaultServers, runInProcess, startFaultServers, writeConfig } from '../support/fault-harness';

const cert = (name: string) => ({ name, domains: [`${name}.example.test`] });
const range = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);

/** The lines of the report kinds (what certflow prints per certificate or per kind after a run). */
const REPORT_LINE = /^(FAILED|DEFERRED|ISSUED|NOT DUE) /;

/**
 * Many certificates: the run summary stays readable past
 * {@link COMPACT_AFTER} certificates. A real local run (Pebble and BIND) of 51 certificates: 5
 * issued by an earlier run (not due), 2 whose `_acme-challenge` CNAME is missing (they fail at
 * CreateOrder), 44 new ones under a new-order budget of 25 per hour (23 issued, 21 deferred).
 * The counts come first; each failure and each deferral is listed; the certificates that are
 * fine (issued, not due) are counted, not listed.
 */
describe('the run report with more than 20 certificates', () => {
  let s: FaultServers;
  const OLD = range('old', 5);
  const BROKEN = range('nocname', 2);
  const NEW = range('svc', 44);

  beforeAll(async () => {
    s = await startFaultServers({
      workdirPrefix: 'certflow-report-many-',
      extraNames: [...OLD, ...NEW].map((n) => `${n}.example.test`),
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('counts first, then every failure and every deferral in full; issued and not due counted, not listed', async () => {
    const earlier = await runInProcess(s, writeConfig(s, 'old', { certificates: OLD.map(cert) }));
    expect(earlier.result.exitCode).toBe(EXIT_CODES.ok);

    const certificates = [...OLD, ...BROKEN, ...NEW].map(cert);
    expect(certificates.length).toBeGreaterThan(COMPACT_AFTER);
    const run = await runInProcess(
      s,
      writeConfig(s, 'many', {
        certificates,
        newOrderLimit: { orders: 25, windowMinutes: 60 },
        maxConcurrency: 8,
      }),
    );
    expect(run.result.exitCode).toBe(EXIT_CODES.failed);
    const { lines } = run;

    // Counts first: a blank line, then the counts, before any line about a certificate.
    const counts = lines.indexOf('23 issued, 2 failed, 21 deferred, 5 not due');
    expect(counts).toBeGreaterThan(0);
    expect(lines[counts - 1]).toBe('');
    expect(lines.slice(0, counts).filter((l) => REPORT_LINE.test(l))).toEqual([]);
    const report = lines.slice(counts + 1);

    // Every failure, with its message (the record to add).
    expect(report.filter((l) => l.startsWith('FAILED '))).toEqual(
      BROKEN.map((n) => `FAILED   ${n} at CreateOrder: DelegationError`),
    );
    for (const n of BROKEN) {
      expect(report).toContainEqual(
        expect.stringContaining(`_acme-challenge.${n}.example.test has no CNAME`),
      );
    }

    // Every deferral (21), grouped by its time past 20: how many, until when, the first names; and why.
    const deferred = run.result.summary?.deferred ?? [];
    expect(deferred.map((d) => d.certificate)).toEqual(NEW.slice(23));
    // The 25 orders placed at once free their slots together: one time for all 21.
    const until = deferred[0]?.until as string;
    expect(deferred.every((d) => d.until === until)).toBe(true);
    expect(report.filter((l) => l.startsWith('DEFERRED ') && !l.startsWith('DEFERRED because'))).toEqual([
      `DEFERRED 21 certificates until ${until}: ${NEW.slice(23, 28).join(', ')} and 16 more (certflow status lists each)`,
    ]);
    expect(report).toContain('DEFERRED because the new-order budget (25 new orders per 1 h) is used up');

    // What is fine is counted in one line each, not listed.
    expect(report.filter((l) => l.startsWith('ISSUED '))).toEqual([
      `ISSUED   23 certificates (not listed past ${COMPACT_AFTER} certificates; certflow status --all lists each)`,
    ]);
    expect(report.filter((l) => l.startsWith('NOT DUE '))).toEqual([
      `NOT DUE  5 certificates (not listed past ${COMPACT_AFTER} certificates; certflow status --all lists each)`,
    ]);
    // Attention first: failures, then deferrals, then the counted lines.
    const first = (prefix: string) => report.findIndex((l) => l.startsWith(prefix));
    expect(first('FAILED')).toBeLessThan(first('DEFERRED'));
    expect(first('DEFERRED')).toBeLessThan(first('ISSUED'));
    expect(first('ISSUED')).toBeLessThan(first('NOT DUE'));
  });
});
