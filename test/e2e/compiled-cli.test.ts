import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderLocalDefinitions } from '../../lib/state-machine/render';
import { startTestBind, type TestBind } from '../support/bind-fixture';
import { writeExternalConfig } from '../support/external-config';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';

/**
 * The compiled CLI (`npm run build`, what `prepare` runs on `npm ci`): the JavaScript in `dist/`,
 * with the function bundles and the local definition built beside it, run on plain Node.js the
 * way an installed `certflow` runs (through its shebang). Records every module each process
 * loads and every bundle it reads.
 */

const ROOT = resolve(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const BIN = join(DIST, 'bin', 'certflow.js');
const dir = mkdtempSync(join(tmpdir(), 'certflow-compiled-'));
const preload = join(dir, 'record.cjs');
writeFileSync(
  preload,
  `const fs = require('fs');
const read = fs.readFileSync;
const files = [];
fs.readFileSync = function (path, ...rest) { if (typeof path === 'string') files.push(path); return read.call(this, path, ...rest); };
process.on('exit', () => fs.writeFileSync(process.env.CERTFLOW_TEST_RECORD, JSON.stringify({ modules: Object.keys(require.cache), files })));
`,
);

/** Run the compiled CLI through its shebang, recording what it loaded. */
function certflow(args: string[], timeout = 60_000) {
  const record = join(dir, `record-${Math.random().toString(36).slice(2)}.json`);
  const result = spawnSync(BIN, args, {
    encoding: 'utf8',
    timeout,
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: `--require=${preload}`, CERTFLOW_TEST_RECORD: record },
  });
  const { modules, files } = JSON.parse(readFileSync(record, 'utf8')) as {
    modules: string[];
    files: string[];
  };
  return { ...result, modules, files };
}

/** Modules a compiled run must never load: TypeScript tooling, the bundler, the CDK, the validator. */
const BUILD_TIME = /node_modules\/(tsx|typescript|ts-node|esbuild|aws-cdk-lib|asl-validator|ajv|@peculiar)\//;

describe('the compiled CLI (npm run build)', () => {
  beforeAll(() => {
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    expect({ status: build.status, stderr: build.stderr }).toEqual({ status: 0, stderr: '' });
  }, 600_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is what package.json bin names: executable JavaScript with a node shebang', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(resolve(ROOT, pkg.bin.certflow)).toBe(BIN);
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(() => accessSync(BIN, constants.X_OK)).not.toThrow();
    // `npm ci` builds it; `npm run local` runs it.
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.local).toBe('node dist/bin/certflow.js local');
  });

  it('--help and --version run on plain Node.js, loading no TypeScript tooling, CDK or runner', () => {
    const help = certflow(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: certflow');
    const version = certflow(['--version']);
    const { version: expected } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.stdout).toBe(`${expected}\n`);
    for (const r of [help, version]) {
      const loaded = r.modules.filter((m) => m !== preload);
      expect(loaded.filter((m) => !m.startsWith(`${DIST}/`) && !m.includes('/node_modules/'))).toEqual([]);
      expect(loaded.filter((m) => BUILD_TIME.test(m) || /dist\/lib\/local\//.test(m))).toEqual([]);
    }
  });

  it('npx certflow runs the compiled entry', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = spawnSync('npx', ['--no-install', 'certflow', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: `${version}\n` });
  });

  it('says so when the sources changed since the build', () => {
    const record = join(DIST, 'build.json');
    const original = readFileSync(record, 'utf8');
    const stamps = JSON.parse(original) as { sources: Record<string, { size: number; sha256: string }> };
    const file = 'lambdas/core/steps/cleanup.ts';
    stamps.sources[file] = { ...stamps.sources[file], size: stamps.sources[file].size + 1, sha256: '0' };
    try {
      writeFileSync(record, JSON.stringify(stamps));
      const r = certflow(['local', '--external']);
      expect(r.stderr).toContain(`is older than its sources (${file}); run \`npm run build\``);
    } finally {
      writeFileSync(record, original);
    }
    expect(certflow(['local', '--external']).stderr).not.toContain('older than its sources');
  });

  describe('local --external against running Pebble and BIND', () => {
    let bind: TestBind;
    let pebble: TestPebble;
    beforeAll(async () => {
      bind = await startTestBind();
      pebble = await startTestPebble({ dnsServer: `127.0.0.1:${bind.address.port}` });
    });
    afterAll(async () => {
      await pebble?.stop();
      await bind?.stop();
    });

    /** A config for the running servers, issuing `www` into `dir`. */
    const writeConfig = (): string => {
      const tsigFile = join(dir, 'tsig.key');
      writeFileSync(tsigFile, `${bind.tsig.secret}\n`, { mode: 0o600 });
      return writeExternalConfig(join(dir, 'config.json'), {
        dns: bind,
        pebble,
        tsigFile,
        storeDirectory: join(dir, 'certs'),
        certificates: [{ name: 'www', domains: ['www.example.test'] }],
      });
    };

    it('issues with the prebuilt bundles and definition: no esbuild, CDK, TypeScript or validator at run time', () => {
      const config = writeConfig();
      const workdir = join(dir, 'work');
      const r = certflow(['local', '--external', '--force', '-c', config, '-w', workdir], 120_000);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      expect(r.stdout).toContain('ISSUED   www');
      expect(r.modules.filter((m) => BUILD_TIME.test(m))).toEqual([]);
      // The emulator's Lambda client is never loaded: every Task runs in-process.
      expect(r.modules.filter((m) => /node_modules\/@aws-sdk\/client-lambda\//.test(m))).toEqual([]);
      // Each function ran from its prebuilt bundle in dist/functions.
      const bundles = [...new Set(r.files.filter((f) => /\/functions\/\w+\/index\.js$/.test(f)))].sort();
      const ran = ['SelectDue', 'Cleanup', 'CreateOrder', 'PublishRecords', 'CheckPropagation'];
      for (const step of ran) expect(bundles).toContain(join(DIST, 'functions', step, 'index.js'));
      expect(bundles.every((f) => f.startsWith(join(DIST, 'functions')))).toBe(true);
      // The definition it ran is the one the construct renders (and the stack deploys: parity test).
      const runs = readdirSync(join(workdir, 'runs'));
      expect(runs).toHaveLength(1);
      const ranDefinition = JSON.parse(
        readFileSync(join(workdir, 'runs', runs[0], 'definition.asl.json'), 'utf8'),
      );
      expect(ranDefinition).toEqual(renderLocalDefinitions());
    });

    it('--json: stdout is one JSON document (outcome, summary, execution, leftover check), the progress and report go to stderr', () => {
      const r = certflow(
        ['local', '--external', '--force', '--json', '-c', writeConfig(), '-w', join(dir, 'json')],
        120_000,
      );
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('ISSUED   www');
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({
        ok: true,
        exitCode: 0,
        summary: { issuedCount: 1, failedCount: 0 },
        execution: { status: 'SUCCEEDED' },
        leftovers: {
          published: 1,
          left: [],
          unchecked: [],
          checked: [`127.0.0.1:${bind.address.port}`],
          unanswered: [],
        },
      });
      expect(doc.summary.issued.map((i: { certificate: string }) => i.certificate)).toEqual(['www']);
      expect(r.stdout).not.toContain(bind.tsig.secret);
      expect(r.stdout).not.toContain('PRIVATE KEY');
    });

    it('--json with a bad configuration: exit 2 and the error names the field', () => {
      const bad = join(dir, 'bad.json');
      const config = JSON.parse(readFileSync(writeConfig(), 'utf8'));
      config.acme.termsOfServiceAgreed = false;
      writeFileSync(bad, JSON.stringify(config));
      const r = certflow(['local', '--external', '--json', '-c', bad, '-w', join(dir, 'bad')], 60_000);
      expect(r.status).toBe(2);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ ok: false, exitCode: 2, error: { name: 'ConfigError' } });
      expect(doc.error.message).toContain('acme.termsOfServiceAgreed');
    });
  });
});
