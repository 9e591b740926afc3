import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TASK_STEPS } from '../../lambdas/core/state';
import { ensureFunctionBundles, NEVER_LOADED_SDK_MODULES } from '../../lib/bundling/function-bundles';
import { REPO_ROOT } from './synth';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CDK app the way `cdk synth` does (`npx tsx bin/app.ts`, output to CDK_OUTDIR). */
function runApp(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', 'bin/app.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CERTFLOW_CONFIG_FILE: '', CDK_CONTEXT_JSON: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const BROKEN = {
  acme: { directory: 'http://ca.example.com/dir', email: 'not-an-email', termsOfServiceAgreed: false },
  delegation: { zone: 'acme.example.net', domains: ['example.com'] },
  dns: { provider: 'route53' },
  schedule: { expression: 'cron(0 3 * * *)' },
  certificates: [{ name: 'Bad Name', domains: ['*.*.example.com'] }],
};

describe('bin/app.ts', () => {
  let dir: string;
  let brokenFile: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'certflow-app-'));
    brokenFile = path.join(dir, 'broken.json');
    writeFileSync(brokenFile, JSON.stringify(BROKEN));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const expectEveryProblem = (run: Run, outdir: string) => {
    expect(run.status).toBe(1);
    for (const problemPath of [
      'acme.directory',
      'acme.email',
      'acme.termsOfServiceAgreed',
      'dns.hostedZoneId',
      'certificates[0].name',
      'certificates[0].domains[0]',
    ]) {
      expect(run.stderr).toContain(`  - ${problemPath}: `);
    }
    // The deployment rules (the five-field cron) run over the parsed configuration, once the
    // schema problems are fixed: `certflow validate` reports in the same two steps.
    expect(run.stderr).not.toContain('  - schedule.expression: ');
    const listed = run.stderr.split('\n').filter((l) => l.startsWith('  - ')).length;
    expect(run.stderr).toContain(`${brokenFile} is invalid (${listed} problems)`);
    // No template: the synth failed before producing anything to deploy.
    expect(existsSync(outdir) ? readdirSync(outdir).filter((f) => f.endsWith('.template.json')) : []).toEqual(
      [],
    );
  };

  it('a broken config (CERTFLOW_CONFIG_FILE) fails the synth, listing every problem', async () => {
    const outdir = path.join(dir, 'out-env');
    const run = await runApp({ CERTFLOW_CONFIG_FILE: brokenFile, CDK_OUTDIR: outdir });
    expectEveryProblem(run, outdir);
  });

  it('`-c config=<path>` wins over CERTFLOW_CONFIG_FILE', async () => {
    const outdir = path.join(dir, 'out-context');
    const run = await runApp({
      CDK_CONTEXT_JSON: JSON.stringify({ config: brokenFile }),
      CERTFLOW_CONFIG_FILE: path.join(REPO_ROOT, 'certflow.config.example.json'),
      CDK_OUTDIR: outdir,
    });
    expectEveryProblem(run, outdir);
  });

  it('a file past the schema caps on checks fails the synth, naming each timing field (the event-budget rule over the parsed configuration: test/cdk/certflow-props.test.ts)', async () => {
    const file = path.join(dir, 'too-many-checks.json');
    const example = JSON.parse(readFileSync(path.join(REPO_ROOT, 'certflow.config.example.json'), 'utf8'));
    writeFileSync(
      file,
      JSON.stringify({
        ...example,
        timing: { ...example.timing, propagationMaxChecks: 1300, orderMaxChecks: 1300 },
      }),
    );
    const outdir = path.join(dir, 'out-timing');
    const run = await runApp({ CERTFLOW_CONFIG_FILE: file, CDK_OUTDIR: outdir });
    expect(run.status).toBe(1);
    // A schema-valid file cannot exceed the event budget: the schema caps each at 200.
    expect(run.stderr).toContain('  - timing.propagationMaxChecks: ');
    expect(run.stderr).toContain('  - timing.orderMaxChecks: ');
    expect(existsSync(outdir) ? readdirSync(outdir).filter((f) => f.endsWith('.template.json')) : []).toEqual(
      [],
    );
  });

  it('synthesizes the default certflow.config.json with real, self-contained bundles', async () => {
    const outdir = path.join(dir, 'out-real');
    const run = await runApp({ CDK_OUTDIR: outdir });
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const template = JSON.parse(readFileSync(path.join(outdir, 'Certflow.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key: string } } }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(TASK_STEPS.length);
    const bundles = ensureFunctionBundles();
    const deployed = new Set<string>();
    for (const fn of functions) {
      const hash = fn.Properties.Code?.S3Key.replace(/\.zip$/, '');
      const assetDir = path.join(outdir, `asset.${hash}`);
      const code = readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      expect(existsSync(path.join(assetDir, 'index.js.map'))).toBe(true);
      // Every dependency is inside the bundle, the AWS SDK v3 clients included (the SDK the tests
      // run is the SDK that ships): the only requires left are Node built-ins and the two modules
      // the SDK imports lazily on paths certflow's clients never take (NEVER_LOADED_SDK_MODULES).
      const required = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
      const external = [...new Set(required)].filter(
        (m) =>
          !builtinModules.includes(m.replace(/^node:/, '')) &&
          !(NEVER_LOADED_SDK_MODULES as readonly string[]).includes(m),
      );
      expect(external).toEqual([]);
      // The asset is byte for byte the bundle local mode and the end-to-end tests run.
      const step = TASK_STEPS.find((st) => code === readFileSync(bundles[st].file, 'utf8'));
      expect(step).toBeDefined();
      deployed.add(step as string);
    }
    expect([...deployed].sort()).toEqual([...TASK_STEPS].sort());
    // Every bundle loads and exports the handler Lambda calls (`index.handler`).
    const check = await new Promise<Run>((resolve, reject) => {
      const script = `for (const d of process.argv.slice(1)) { const m = require(d + '/index.js'); if (typeof m.handler !== 'function') { console.error(d); process.exit(2); } }`;
      const dirs = functions.map((f) =>
        path.join(outdir, `asset.${f.Properties.Code?.S3Key.replace(/\.zip$/, '')}`),
      );
      const child = spawn(process.execPath, ['-e', script, ...dirs], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout: '', stderr }));
    });
    expect(check).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
