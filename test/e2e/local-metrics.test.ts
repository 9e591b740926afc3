import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { keyMaterial } from '../support/certificates';
import { expectNoSecret, localSecrets } from '../support/local-secrets';

/** One CloudWatch embedded metric format document, as the functions write it. */
interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** Every value of `name` in a run's metrics file, with the dimension values of its document. */
function values(docs: EmfDocument[], name: string): { value: number; dims: Record<string, string> }[] {
  return docs.flatMap((doc) => {
    const directive = doc._aws.CloudWatchMetrics[0];
    if (!directive.Metrics.some((m) => m.Name === name)) return [];
    const dims = Object.fromEntries((directive.Dimensions[0] ?? []).map((d) => [d, String(doc[d])] as const));
    const raw = doc[name];
    return (Array.isArray(raw) ? raw : [raw]).map((value) => ({ value: Number(value), dims }));
  });
}

/**
 * A local run writes the same metrics as the functions do in AWS, as EMF lines in
 * `runs/<id>/metrics.jsonl`: the bundled Pebble and BIND, the deployed bundles, three runs (issue,
 * not due, one certificate failing at CreateOrder because its `_acme-challenge` CNAME is missing).
 */
describe('local mode metrics (CloudWatch embedded metric format, in the run directory)', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-metrics-'));
  const runs: LocalRunResult[] = [];
  const run = async (configFile?: string): Promise<{ result: LocalRunResult; docs: EmfDocument[] }> => {
    const result = await runLocal({ workdir, configFile, out: () => undefined });
    runs.push(result);
    const docs = readFileSync(join(result.runDirectory, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EmfDocument);
    return { result, docs };
  };

  it('a first run: CertificatesIssued per certificate, every step timed, propagation time, a completed run', async () => {
    const { result, docs } = await run();
    expect(result.exitCode).toBe(0);
    // every document is EMF in the certflow namespace, with the service dimension
    for (const doc of docs) {
      expect(doc._aws.CloudWatchMetrics[0].Namespace).toBe('certflow');
      expect(doc._aws.CloudWatchMetrics[0].Dimensions[0]).toContain('service');
      expect(doc.service).toBe('certflow');
    }
    const issued = values(docs, 'CertificatesIssued').filter((v) => v.dims.Certificate);
    expect(issued.map((v) => v.dims.Certificate).sort()).toEqual(['example-test', 'www-example-test']);
    expect(issued.every((v) => v.value === 1)).toBe(true);
    expect(values(docs, 'CertificatesIssued').filter((v) => !v.dims.Certificate)).toHaveLength(2);
    const steps = new Set(values(docs, 'StepDuration').map((v) => v.dims.Step));
    for (const step of ['SelectDue', 'SweepLeftovers', 'CreateOrder', 'PublishRecords', 'CheckPropagation']) {
      expect(steps).toContain(step);
    }
    for (const step of ['AnswerChallenges', 'CheckOrder', 'FinalizeAndStore', 'Cleanup', 'Summarize']) {
      expect(steps).toContain(step);
    }
    expect(values(docs, 'StepDuration').every((v) => v.value >= 0)).toBe(true);
    const propagation = values(docs, 'PropagationSeconds');
    expect(propagation).toHaveLength(2);
    expect(propagation.every((v) => v.value >= 0 && v.value < 60)).toBe(true);
    expect(values(docs, 'RunsCompleted')).toEqual([{ value: 1, dims: { service: 'certflow' } }]);
    // nothing was stored before this run: no expiry to report yet
    expect(values(docs, 'DaysToExpiry')).toEqual([]);
  });

  it('a run with nothing due: exactly one DaysToExpiry per certificate, and the run minimum', async () => {
    const { result, docs } = await run();
    expect(result.summary).toMatchObject({ issuedCount: 0, skippedCount: 2 });
    const days = values(docs, 'DaysToExpiry');
    const perCertificate = days.filter((v) => v.dims.Certificate);
    expect(perCertificate.map((v) => v.dims.Certificate).sort()).toEqual([
      'example-test',
      'www-example-test',
    ]);
    // Pebble's certificates: a few days short of 90
    for (const v of perCertificate) expect(v.value).toBeGreaterThan(80);
    const aggregate = days.filter((v) => !v.dims.Certificate);
    expect(aggregate).toEqual([
      { value: Math.min(...perCertificate.map((v) => v.value)), dims: { service: 'certflow' } },
    ]);
    // headroom to the default threshold (a third of the lifetime, at most 10 days), per certificate
    for (const v of perCertificate) {
      const [headroom] = values(docs, 'ExpiryHeadroomDays').filter(
        (h) => h.dims.Certificate === v.dims.Certificate,
      );
      expect(headroom?.value).toBeCloseTo(v.value - 10, 1);
    }
    expect(values(docs, 'CertificatesNotDue')).toEqual([{ value: 2, dims: { service: 'certflow' } }]);
    expect(values(docs, 'CertificatesIssued')).toEqual([]);
  });

  it('a certificate that fails: CertificatesFailed with its step, per certificate and in aggregate', async () => {
    const config = join(workdir, 'with-missing-cname.json');
    writeFileSync(
      config,
      JSON.stringify({
        certificates: [
          { name: 'example-test', domains: ['example.test', '*.example.test'] },
          { name: 'www-example-test', domains: ['www.example.test'] },
          // the bundled primary zone holds no _acme-challenge CNAME for this name
          { name: 'nocname', domains: ['nocname.example.test'] },
        ],
      }),
    );
    const { result, docs } = await run(config);
    expect(result.exitCode).toBe(1);
    expect(result.summary?.failed).toEqual([
      expect.objectContaining({ certificate: 'nocname', step: 'CreateOrder', error: 'DelegationError' }),
    ]);
    const failed = values(docs, 'CertificatesFailed');
    expect(failed).toEqual(
      expect.arrayContaining([
        { value: 1, dims: { service: 'certflow', FailedStep: 'CreateOrder' } },
        { value: 1, dims: { service: 'certflow', Certificate: 'nocname' } },
        { value: 1, dims: { service: 'certflow' } },
      ]),
    );
    expect(failed).toHaveLength(3);
    // the two stored certificates still report their expiry; the failing one has none to report
    expect(
      values(docs, 'DaysToExpiry')
        .filter((v) => v.dims.Certificate)
        .map((v) => v.dims.Certificate)
        .sort(),
    ).toEqual(['example-test', 'www-example-test']);
  });

  it('no metric and no log line holds key material (certificate keys, the account key)', () => {
    const secrets = localSecrets(workdir);
    // both certificates' keys and the account key
    const archive = join(workdir, 'certs', 'archive');
    for (const name of ['example-test', 'www-example-test']) {
      expect(secrets).toEqual(expect.arrayContaining(keyMaterial(join(archive, name, '1', 'privkey.pem'))));
    }
    for (const result of runs) {
      for (const file of ['metrics.jsonl', 'handlers.log']) {
        const text = readFileSync(join(result.runDirectory, file), 'utf8');
        expect(text.length).toBeGreaterThan(0);
        expectNoSecret(text, secrets);
      }
    }
  });

  it('every handler log line names its step, and certificate lines their execution and certificate', () => {
    const lines = runs.flatMap((r) =>
      readFileSync(join(r.runDirectory, 'handlers.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      expect(typeof line.step).toBe('string');
      expect(line.service).toBe('certflow');
      expect(['INFO', 'WARN', 'ERROR']).toContain(line.level);
    }
    const perCertificate = lines.filter((l) =>
      ['CreateOrder', 'PublishRecords', 'CheckPropagation', 'FinalizeAndStore', 'Cleanup'].includes(
        String(l.step),
      ),
    );
    expect(perCertificate.length).toBeGreaterThan(10);
    for (const line of perCertificate) {
      expect(line.execution).toMatch(/^local-/);
      // certificates are issued by the run's batch executions
      expect(line.executionArn).toMatch(
        /^arn:aws:states:.*:execution:certflow-IssueBatch:local-.*-batch-\d+$/,
      );
      expect(typeof line.certificate).toBe('string');
    }
    // the step is right on every line, even when one loaded bundle serves several invocations
    const finalizeLines = lines.filter((l) => l.message === 'certificate issued and stored');
    expect(finalizeLines.every((l) => l.step === 'FinalizeAndStore')).toBe(true);
    expect(lines.filter((l) => l.step === 'SweepLeftovers').length).toBeGreaterThan(0);
  });
});
