import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { checkCommand } from '../../cli/check';
import type { CliIO } from '../../cli/common';
import { type PlanReport, planCommand } from '../../cli/plan';
import { type StatusReport, statusCommand } from '../../cli/status';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { startTestBind, type TestBind } from '../support/bind-fixture';
import { expectNoSecret, localSecrets } from '../support/local-secrets';

/**
 * `certflow status` and `certflow plan` on what a real local run left behind: the certificates
 * the bundled Pebble issued into the local store, the run record, and the run's config.
 */

const DAY = 86_400_000;

interface Meta {
  name: string;
  domains: string[];
  keyType: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

describe('status and plan against a local store written by a real local run', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-status-'));
  const printed: string[] = [];
  let run: LocalRunResult;
  let config: string;
  let rawConfig: Record<string, unknown>;
  let meta: Record<string, Meta>;
  let bind: TestBind;

  beforeAll(async () => {
    run = await runLocal({ workdir, out: () => undefined });
    expect(run.exitCode).toBe(0);
    config = join(run.runDirectory, 'config.json');
    rawConfig = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    meta = Object.fromEntries(
      ['example-test', 'www-example-test'].map((name) => [
        name,
        JSON.parse(readFileSync(join(workdir, 'certs', 'live', name, 'metadata.json'), 'utf8')) as Meta,
      ]),
    );
    bind = await startTestBind();
  });
  afterAll(async () => {
    await bind?.stop();
  });

  const capture = async (
    fn: (io: CliIO) => Promise<number>,
  ): Promise<{ code: number; lines: string[]; out: string; err: string[] }> => {
    const lines: string[] = [];
    const err: string[] = [];
    const code = await fn({ out: (l) => lines.push(l), err: (l) => err.push(l) });
    printed.push(...lines, ...err);
    return { code, lines, out: lines.join('\n'), err };
  };
  const writeConfig = (changes: Record<string, unknown>): string => {
    const file = join(workdir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...rawConfig, ...changes }));
    return file;
  };
  /** When SelectDue renews: a third of the lifetime before notAfter (renewal.renewBeforeDays unset). */
  const renewAt = (m: Meta): Date => {
    const notAfter = Date.parse(m.notAfter);
    return new Date(notAfter - (notAfter - Date.parse(m.notBefore)) / 3);
  };

  it('status right after the run: counts, the last run, nothing to do, exit 0', async () => {
    const { code, lines } = await capture((io) => statusCommand({ config, workdir }, io));
    const runId = basename(run.runDirectory);
    expect(lines[0]).toMatch(new RegExp(`^certflow status: ${config}: 2 certificates at \\S+Z$`));
    expect(lines[1]).toBe(
      '  2 ok, 0 due, 0 expired, 0 broken, 0 not issued, 0 store errors; 0 failed in their last run',
    );
    expect(lines[2]).toMatch(
      new RegExp(`^  last run: local ${runId} \\(\\S+\\) ok: 2 issued, 0 failed, 0 not due$`),
    );
    expect(lines).toContain('nothing needs attention');
    expect(lines[lines.length - 1]).toBe('(certflow status --all lists all 2 certificates)');
    expect(code).toBe(0);
  });

  it('status --all: names, key type, issuer, notAfter, days left and why not due, one line each', async () => {
    const now = new Date();
    const { code, lines } = await capture((io) => statusCommand({ config, workdir, all: true, now }, io));
    expect(code).toBe(0);
    const header = lines.findIndex((l) => l.startsWith('CERTIFICATE'));
    expect(lines[header]).toMatch(
      /^CERTIFICATE\s+STATE\s+DAYS\s+NOT AFTER\s+KEY\s+LAST RUN\s+ISSUER\s+NAMES\s+WHY$/,
    );
    for (const name of ['example-test', 'www-example-test']) {
      const m = meta[name] as Meta;
      const row = lines.find((l) => l.startsWith(`${name} `)) as string;
      const days = Math.floor((Date.parse(m.notAfter) - now.getTime()) / DAY);
      expect(row.split(/ {2,}/)).toEqual([
        name,
        'ok',
        String(days),
        m.notAfter,
        'ecdsa-p256',
        'issued',
        m.issuer,
        m.domains.join(','),
        `valid until ${m.notAfter}; due ${renewAt(m).toISOString()}`,
      ]);
    }
  });

  it('status when renewal is due: the reason SelectDue gives, listed under needs attention, exit 0', async () => {
    const m = meta['www-example-test'] as Meta;
    const now = new Date(renewAt(m).getTime() + DAY);
    const { code, lines } = await capture((io) => statusCommand({ config, workdir, now }, io));
    expect(lines[1]).toBe(
      '  0 ok, 2 due, 0 expired, 0 broken, 0 not issued, 0 store errors; 0 failed in their last run',
    );
    expect(lines).toContain('needs attention (2):');
    const row = lines.find((l) => l.startsWith('www-example-test ')) as string;
    expect(row).toMatch(/^www-example-test\s+due\s+/);
    expect(row.endsWith(`expires ${m.notAfter}, renewal was due ${renewAt(m).toISOString()}`)).toBe(true);
    expect(code).toBe(0);
  });

  it('status after notAfter: EXPIRED and exit 1', async () => {
    const m = meta['example-test'] as Meta;
    const now = new Date(Date.parse(m.notAfter) + 2 * DAY);
    const { code, lines } = await capture((io) => statusCommand({ config, workdir, now }, io));
    const row = lines.find((l) => l.startsWith('example-test ')) as string;
    expect(row).toMatch(/^example-test\s+EXPIRED\s+-2\s+/);
    expect(row.endsWith(`expired ${m.notAfter}`)).toBe(true);
    expect(code).toBe(1);
  });

  it('status with damaged sets and a certificate the store does not hold: BROKEN with what is wrong, NOT ISSUED, exit 1', async () => {
    const damaged = join(workdir, 'damaged-store');
    cpSync(join(workdir, 'certs'), damaged, { recursive: true, dereference: true });
    const live = (name: string) => join(damaged, 'live', name);
    // A store that stopped half-way through metadata.json, and a key replaced by another certificate's.
    writeFileSync(join(live('www-example-test'), 'metadata.json'), '{"name": ');
    cpSync(join(live('www-example-test'), 'privkey.pem'), join(live('example-test'), 'privkey.pem'));
    const file = writeConfig({
      storage: { localDirectory: damaged, defaultStores: ['local'] },
      certificates: [
        { name: 'example-test', domains: ['example.test', '*.example.test'], stores: ['local'] },
        { name: 'www-example-test', domains: ['www.example.test'], stores: ['local'] },
        { name: 'new-one', domains: ['new.example.test'], stores: ['local'] },
      ],
    });
    const now = new Date();
    const { code, lines } = await capture((io) => statusCommand({ config: file, workdir, now }, io));
    expect(lines[1]).toBe(
      '  0 ok, 0 due, 0 expired, 2 broken, 1 not issued, 0 store errors; 0 failed in their last run',
    );
    const at = lines.indexOf('needs attention (3):');
    const [www, example, fresh] = lines.slice(at + 2).map((l) => l.split(/ {2,}/));
    // Nothing readable about it: no dates, only what is wrong with which file.
    expect(www?.slice(0, 8)).toEqual([
      'www-example-test',
      'BROKEN',
      '-',
      '-',
      'ecdsa-p256',
      'issued',
      '-',
      'www.example.test',
    ]);
    expect(www?.[8]).toMatch(
      new RegExp(
        `^stored certificate is broken \\(local: ${live('www-example-test')}: metadata\\.json is not valid JSON \\(.+\\)\\)$`,
      ),
    );
    // Its record is fine, so its dates are shown; its key is not the certificate's.
    const m = meta['example-test'] as Meta;
    expect(example).toEqual([
      'example-test',
      'BROKEN',
      String(Math.floor((Date.parse(m.notAfter) - now.getTime()) / DAY)),
      m.notAfter,
      'ecdsa-p256',
      'issued',
      m.issuer,
      'example.test,*.example.test',
      `stored certificate is broken (local: ${live('example-test')}: privkey.pem is not the key of cert.pem (another key))`,
    ]);
    expect(fresh).toEqual([
      'new-one',
      'NOT ISSUED',
      '-',
      '-',
      'ecdsa-p256',
      '-',
      '-',
      'new.example.test',
      'not issued yet',
    ]);
    expect(code).toBe(1);
  });

  it('status when the store cannot be consulted (storage.localDirectory is a file): every certificate ERROR with the OS cause, exit 1', async () => {
    const notADirectory = join(workdir, 'not-a-directory');
    writeFileSync(notADirectory, 'a file where the store should be\n');
    const file = writeConfig({ storage: { localDirectory: notADirectory, defaultStores: ['local'] } });
    const { code, lines } = await capture((io) => statusCommand({ config: file, workdir }, io));
    expect(lines[1]).toBe(
      '  0 ok, 0 due, 0 expired, 0 broken, 0 not issued, 2 store errors; 0 failed in their last run',
    );
    const row = lines.find((l) => l.startsWith('www-example-test ')) as string;
    expect(row.split(/ {2,}/)).toEqual([
      'www-example-test',
      'ERROR',
      '-',
      '-',
      'ecdsa-p256',
      'issued',
      '-',
      'www.example.test',
      `local: CertificateStoreError: local store: ${notADirectory} is not a directory (ENOTDIR); point storage.localDirectory at a directory`,
    ]);
    expect(code).toBe(1);
  });

  it('status --json: counts, the last run, and per certificate its stores, decision and last run', async () => {
    const { code, out } = await capture((io) => statusCommand({ config, workdir, json: true }, io));
    expect(code).toBe(0);
    const doc = JSON.parse(out) as StatusReport;
    expect(doc.ok).toBe(true);
    expect(doc.counts).toEqual({
      total: 2,
      ok: 2,
      due: 0,
      expired: 0,
      broken: 0,
      'not-issued': 0,
      error: 0,
      lastRunFailed: 0,
      attention: 0,
    });
    expect(doc.lastRun).toMatchObject({
      source: 'local',
      run: basename(run.runDirectory),
      issued: 2,
      failed: 0,
    });
    const m = meta['example-test'] as Meta;
    const cert = doc.certificates.find((c) => c.name === 'example-test');
    expect(cert).toMatchObject({
      state: 'ok',
      due: false,
      keyType: 'ecdsa-p256',
      domains: ['example.test', '*.example.test'],
      issuer: m.issuer,
      notAfter: m.notAfter,
      lastRun: { result: 'issued', source: 'local', detail: `notAfter ${m.notAfter}` },
      attention: false,
    });
    expect(cert?.stores).toEqual([
      {
        store: 'local',
        status: 'healthy',
        found: true,
        serial: m.serial,
        issuer: m.issuer,
        keyType: 'ecdsa-p256',
        domains: m.domains,
        notBefore: m.notBefore,
        notAfter: m.notAfter,
      },
    ]);
  });

  it('status stays readable with 1,000 certificates: counts first, then only what needs attention', async () => {
    // One real issued set (cert, chain, fullchain, key and metadata from the local run) copied
    // 1,000 times, its metadata naming each copy, so the store checks each set as it checks a real
    // one (key matches cert, chain issued it, fullchain = cert + chain, record = cert). Four were
    // never issued; four hold another certificate's key.
    const big = join(workdir, 'big-store');
    const source = join(workdir, 'certs', 'live', 'www-example-test');
    const files = Object.fromEntries(
      ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem'].map((f) => [
        f,
        readFileSync(join(source, f)),
      ]),
    );
    const otherKey = readFileSync(join(workdir, 'certs', 'live', 'example-test', 'privkey.pem'));
    const record = meta['www-example-test'] as Meta;
    const certificates: { name: string; domains: string[]; stores: string[] }[] = [];
    const built = Date.now();
    for (let i = 0; i < 1000; i++) {
      const name = `site-${String(i).padStart(4, '0')}`;
      certificates.push({ name, domains: record.domains, stores: ['local'] });
      if (i % 250 === 7) continue;
      const dir = join(big, 'live', name);
      mkdirSync(dir, { recursive: true });
      for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content, { mode: 0o600 });
      if (i % 250 === 100) writeFileSync(join(dir, 'privkey.pem'), otherKey, { mode: 0o600 });
      writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ ...record, name }));
    }
    const file = writeConfig({ storage: { localDirectory: big, defaultStores: ['local'] }, certificates });
    const started = Date.now();
    const { code, lines } = await capture((io) => statusCommand({ config: file, workdir }, io));
    process.stderr.write(
      `1000 certificate sets written in ${started - built} ms; status over them took ${Date.now() - started} ms\n`,
    );
    expect(lines[0]).toMatch(/: 1000 certificates at /);
    expect(lines[1]).toBe(
      '  992 ok, 0 due, 0 expired, 4 broken, 4 not issued, 0 store errors; 0 failed in their last run',
    );
    expect(lines).toContain('needs attention (8):');
    const rows = lines.filter((l) => /^site-\d{4}\s/.test(l)).map((l) => l.split(/ {2,}/));
    expect(rows.map((r) => [r[0], r[1]])).toEqual([
      ['site-0100', 'BROKEN'],
      ['site-0350', 'BROKEN'],
      ['site-0600', 'BROKEN'],
      ['site-0850', 'BROKEN'],
      ['site-0007', 'NOT ISSUED'],
      ['site-0257', 'NOT ISSUED'],
      ['site-0507', 'NOT ISSUED'],
      ['site-0757', 'NOT ISSUED'],
    ]);
    expect(rows[0]?.[8]).toBe(
      `stored certificate is broken (local: ${join(big, 'live', 'site-0100')}: privkey.pem is not the key of cert.pem (another key))`,
    );
    expect(lines[lines.length - 1]).toBe('(certflow status --all lists all 1000 certificates)');
    expect(lines.length).toBeLessThan(20);
    expect(code).toBe(1);
  });

  it("plan: the CNAMEs per primary zone, the NS records from the zone's server, CAA for the CA, exit 0", async () => {
    const file = writeConfig({
      dns: { ...(rawConfig.dns as object), server: `127.0.0.1:${bind.address.port}` },
    });
    const { code, lines } = await capture((io) =>
      planCommand({ config: file, caaIdentity: ['pebble.example'] }, io),
    );
    expect(lines.slice(3, 7)).toEqual([
      "1. In each primary zone, one CNAME per name (a wildcard shares its base name's):",
      '   ; zone example.test',
      '   _acme-challenge.example.test.      CNAME  example.test.acme.certflow.test.   ; example.test, *.example.test',
      '   _acme-challenge.www.example.test.  CNAME  www.example.test.acme.certflow.test.   ; www.example.test',
    ]);
    expect(lines.slice(8, 11)).toEqual([
      '2. In the parent zone certflow.test, delegate the validation zone acme.certflow.test:',
      '   acme.certflow.test. NS ns1.acme.certflow.test.',
      `   ; name servers from the NS records of acme.certflow.test on 127.0.0.1:${bind.address.port}`,
    ]);
    expect(lines).toContain(
      '   example.test. CAA 0 issue "pebble.example"   ; if example.test or a parent has CAA records (with none, every CA may issue; adding one limits issuance to the CAs listed)',
    );
    expect(lines).toContain(
      '   example.test. CAA 0 issuewild "pebble.example"   ; if the CAA records of example.test include issuewild: they alone then decide who may issue wildcards (RFC 8659 §4.3)',
    );
    expect(code).toBe(0);
  });

  it("plan when the zone's server and the CA are gone (the run stopped them): says where to get the name servers and the CA identifier", async () => {
    const { code, lines } = await capture((io) => planCommand({ config }, io));
    const dns = rawConfig.dns as { server: string };
    expect(lines).toContain('   acme.certflow.test. NS <each name server of acme.certflow.test>.');
    expect(lines.find((l) => l.startsWith('   ; the name servers are not known here: '))).toContain(
      `they are the NS records in acme.certflow.test's zone file (dig NS acme.certflow.test @127.0.0.1 -p ${dns.server.split(':')[1]})`,
    );
    expect(lines[lines.length - 1]).toMatch(
      /^3\. CAA: the CA's CAA identifier is not known \(https:\/\/127\.0\.0\.1:\d+\/dir was not reachable \(.*\), and it is not a known CA; pass --caa-identity <the CA's CAA domain>\)\.$/,
    );
    expect(code).toBe(0);
  });

  it('plan --json: cnames, delegation and caa records', async () => {
    const file = writeConfig({
      dns: { ...(rawConfig.dns as object), server: `127.0.0.1:${bind.address.port}` },
    });
    const { code, out } = await capture((io) =>
      planCommand({ config: file, json: true, caaIdentity: ['pebble.example'] }, io),
    );
    expect(code).toBe(0);
    const doc = JSON.parse(out) as PlanReport;
    expect(doc.cnames).toEqual([
      {
        zone: 'example.test',
        owner: '_acme-challenge.example.test',
        target: 'example.test.acme.certflow.test',
        record: '_acme-challenge.example.test. CNAME example.test.acme.certflow.test.',
        names: ['example.test', '*.example.test'],
      },
      {
        zone: 'example.test',
        owner: '_acme-challenge.www.example.test',
        target: 'www.example.test.acme.certflow.test',
        record: '_acme-challenge.www.example.test. CNAME www.example.test.acme.certflow.test.',
        names: ['www.example.test'],
      },
    ]);
    expect(doc.delegation).toMatchObject({
      zone: 'acme.certflow.test',
      parent: 'certflow.test',
      nameServers: ['ns1.acme.certflow.test'],
      records: ['acme.certflow.test. NS ns1.acme.certflow.test.'],
    });
    expect(doc.caa.records.map((r) => r.record)).toEqual([
      'example.test. CAA 0 issue "pebble.example"',
      'example.test. CAA 0 issuewild "pebble.example"',
    ]);
  });

  it('a bad config file: exit 2 with every problem', async () => {
    const file = join(workdir, 'bad.json');
    writeFileSync(file, JSON.stringify({ acme: { directory: 'nope' } }));
    for (const command of [statusCommand, planCommand]) {
      const { code, err } = await capture((io) => command({ config: file }, io));
      expect(code).toBe(2);
      expect(err[0]).toMatch(new RegExp(`^${file} is invalid \\(\\d+ problems\\):`));
    }
  });

  it("check uses the local run's ACME account for CAA accounturi, naming its URL only", async () => {
    const accounts = join(workdir, 'state', 'accounts');
    const [accountFile] = readdirSync(accounts);
    const { accountUrl } = JSON.parse(readFileSync(join(accounts, accountFile as string), 'utf8')) as {
      accountUrl: string;
    };
    const file = writeConfig({
      delegation: { ...(rawConfig.delegation as object), resolver: `127.0.0.1:${bind.address.port}` },
    });
    const { lines } = await capture((io) =>
      checkCommand({ config: file, workdir, caaIdentity: ['pebble.example'], nameserver: [] }, io),
    );
    expect(lines[2]).toBe(
      `  CA identifiers: pebble.example (given with --caa-identity); account ${accountUrl} (the local account in ${join(workdir, 'state')})`,
    );
    expect(lines).toContain(
      '  ok    CNAME  _acme-challenge.www.example.test → www.example.test.acme.certflow.test (in acme.certflow.test)',
    );
  });

  it('prints no private key and no account key', () => {
    expect(printed.length).toBeGreaterThan(50);
    expectNoSecret(printed.join('\n'), localSecrets(workdir));
  });
});
