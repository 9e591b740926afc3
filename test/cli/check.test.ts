import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CheckReport, checkCommand } from '../../cli/check';
import { DELEGATED_ZONE, startTestBind, type TestBind } from '../support/bind-fixture';

/**
 * `certflow check` against real BIND, with real queries: the primary zone example.test, the
 * parent zone certflow.test, and the validation zone acme.certflow.test on a second named (so
 * the parent's delegation to it is what a resolver follows). A second setup serves the
 * validation zone but its parent does not delegate it.
 */

const ACCOUNT = 'https://acme-staging-v02.api.letsencrypt.org/acme/acct/123456';

const CNAMES = [
  { name: '_acme-challenge.outside.example.test', target: 'outside.example.test.elsewhere.test' },
  { name: '_acme-challenge.hop.example.test', target: 'relay.hop.example.test' },
  { name: 'relay.hop.example.test', target: 'hop.example.test.acme.certflow.test' },
  { name: '_acme-challenge.caa-deny.example.test', target: 'caa-deny.example.test.acme.certflow.test' },
  { name: '_acme-challenge.wild.example.test', target: 'wild.example.test.acme.certflow.test' },
  { name: '_acme-challenge.acct.example.test', target: 'acct.example.test.acme.certflow.test' },
];
const CAA = [
  'caa-deny.example.test. IN CAA 0 issue "ca.invalid"',
  'wild.example.test. IN CAA 0 issue "letsencrypt.org"',
  'wild.example.test. IN CAA 0 issuewild "ca.invalid"',
  `acct.example.test. IN CAA 0 issue "letsencrypt.org; accounturi=${ACCOUNT}"`,
];
const delegationOfAcme = [
  'acme.certflow.test. IN NS ns1.acme.certflow.test.',
  'ns1.acme.certflow.test. IN A 127.0.0.1',
];

describe('certflow check against real BIND', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-check-'));
  let delegated: TestBind;
  let undelegated: TestBind;

  beforeAll(async () => {
    [delegated, undelegated] = await Promise.all([
      startTestBind({
        separateDelegatedServer: true,
        extraCnames: CNAMES,
        primaryRecords: CAA,
        extraZones: [{ name: 'certflow.test', records: delegationOfAcme }],
      }),
      // the same validation zone, served on its own server, but the parent zone has no NS for it
      startTestBind({ separateDelegatedServer: true, extraZones: [{ name: 'certflow.test', records: [] }] }),
    ]);
    writeFileSync(join(dir, 'tsig.key'), 'unused by check\n');
  });
  afterAll(async () => {
    await Promise.all([delegated?.stop(), undelegated?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run check for one certificate on `bind`; returns the exit code and what it printed. */
  const check = async (
    domains: string[],
    opts: { bind?: TestBind; json?: boolean; accountUri?: string } = {},
  ): Promise<{ code: number; out: string; lines: string[] }> => {
    const bind = opts.bind ?? delegated;
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        acme: {
          directory: 'letsencrypt-staging',
          email: 'hostmaster@example.test',
          termsOfServiceAgreed: true,
        },
        delegation: {
          zone: DELEGATED_ZONE,
          domains: ['example.test'],
          resolver: `127.0.0.1:${bind.address.port}`,
        },
        dns: {
          provider: 'rfc2136',
          server: `127.0.0.1:${bind.server.delegatedAddress.port}`,
          tsig: { name: 'certflow-acme', secretFile: join(dir, 'tsig.key') },
        },
        storage: { localDirectory: join(dir, 'certs'), defaultStores: ['local'] },
        certificates: [{ name: 'case', domains }],
      }),
    );
    const lines: string[] = [];
    const code = await checkCommand(
      {
        config: file,
        json: opts.json,
        accountUri: opts.accountUri,
        workdir: join(dir, 'no-local-state'),
        // every server of these setups is on 127.0.0.1, each on its own port
        nameserver: [
          `ns1.certflow.test=127.0.0.1:${bind.address.port}`,
          `ns1.acme.certflow.test=127.0.0.1:${bind.server.delegatedAddress.port}`,
        ],
      },
      { out: (l) => lines.push(l), err: (l) => lines.push(l) },
    );
    return { code, out: lines.join('\n'), lines };
  };

  it('all good: CNAMEs into the delegated zone, delegation served authoritatively, no CAA → exit 0', async () => {
    const { code, lines } = await check(['example.test', '*.example.test', 'www.example.test']);
    expect(lines).toContain(
      '  ok    delegated from certflow.test to ns1.acme.certflow.test; ns1.acme.certflow.test (127.0.0.1:' +
        `${delegated.server.delegatedAddress.port}) answers authoritatively`,
    );
    expect(lines).toContain(
      '  ok    CNAME  _acme-challenge.example.test → example.test.acme.certflow.test (in acme.certflow.test)',
    );
    expect(lines).toContain(
      '  ok    CAA    no CAA record at www.example.test or any parent: every CA may issue',
    );
    expect(lines[lines.length - 1]).toBe('3 names: 3 ok, 0 with warnings, 0 would fail to validate');
    expect(code).toBe(0);
  });

  it('CNAME missing: says which record to add, exit 1', async () => {
    const { code, lines } = await check(['missing.example.test']);
    expect(lines).toContain(
      '  FAIL  CNAME  _acme-challenge.missing.example.test has no CNAME into the validation zone acme.certflow.test',
    );
    expect(lines).toContain(
      '               add to the primary zone: _acme-challenge.missing.example.test. CNAME missing.example.test.acme.certflow.test.',
    );
    expect(code).toBe(1);
  });

  it('CNAME pointing outside the zone: says which record to change and to what, exit 1', async () => {
    const { code, lines } = await check(['outside.example.test']);
    expect(lines).toContain(
      '  FAIL  CNAME  _acme-challenge.outside.example.test → outside.example.test.elsewhere.test ends outside the validation zone acme.certflow.test',
    );
    expect(lines).toContain(
      '               change _acme-challenge.outside.example.test. CNAME outside.example.test.elsewhere.test. to: _acme-challenge.outside.example.test. CNAME outside.example.test.acme.certflow.test.',
    );
    expect(code).toBe(1);
  });

  it('a two-hop CNAME chain that lands in the zone passes and shows both hops', async () => {
    const { code, lines } = await check(['hop.example.test']);
    expect(lines).toContain(
      '  ok    CNAME  _acme-challenge.hop.example.test → relay.hop.example.test → hop.example.test.acme.certflow.test (in acme.certflow.test)',
    );
    expect(code).toBe(0);
  });

  it('CAA forbidding the CA: says the record to add, exit 1', async () => {
    const { code, lines } = await check(['caa-deny.example.test']);
    expect(lines).toContain(
      '  FAIL  CAA    CAA forbids caa-deny.example.test: issue at caa-deny.example.test allows only ca.invalid, not letsencrypt.org',
    );
    expect(lines).toContain('               add caa-deny.example.test. CAA 0 issue "letsencrypt.org"');
    expect(code).toBe(1);
  });

  it('CAA issue allows the CA but issuewild forbids it: the apex passes, the wildcard fails, exit 1', async () => {
    const { code, lines } = await check(['wild.example.test', '*.wild.example.test']);
    expect(lines).toContain(
      '  ok    CAA    CAA at wild.example.test allows letsencrypt.org (issue "letsencrypt.org")',
    );
    expect(lines).toContain(
      '  FAIL  CAA    CAA forbids *.wild.example.test: issuewild at wild.example.test (ca.invalid) replaces issue for wildcards and does not name letsencrypt.org',
    );
    expect(lines).toContain('               add wild.example.test. CAA 0 issuewild "letsencrypt.org"');
    expect(lines[lines.length - 1]).toBe('2 names: 1 ok, 0 with warnings, 1 would fail to validate');
    expect(code).toBe(1);
  });

  it('the validation zone served but not delegated: says the NS records to add to the parent, every name fails, exit 1', async () => {
    const { code, lines } = await check(['example.test'], { bind: undelegated });
    expect(lines).toContain(
      '  FAIL  acme.certflow.test is not delegated: the parent zone certflow.test has no NS records for it (ns1.certflow.test NXDOMAIN), so a CA cannot find the TXT records in it',
    );
    expect(lines).toContain(
      `        add to the parent zone certflow.test (the zone's name servers, from the NS records of acme.certflow.test on 127.0.0.1:${undelegated.server.delegatedAddress.port}):`,
    );
    expect(lines).toContain('        acme.certflow.test. NS ns1.acme.certflow.test.');
    expect(lines).toContain(
      '  FAIL  ZONE   acme.certflow.test cannot be reached from the parent zone; see the validation zone above',
    );
    // the CNAME itself is fine: only the delegation is missing
    expect(lines).toContain(
      '  ok    CNAME  _acme-challenge.example.test → example.test.acme.certflow.test (in acme.certflow.test)',
    );
    expect(code).toBe(1);
  });

  it('RFC 8657 accounturi: passes for that account, fails for another with the record to change, warns when unknown', async () => {
    const mine = await check(['acct.example.test'], { accountUri: ACCOUNT });
    expect(mine.out).toContain(`CAA at acct.example.test allows letsencrypt.org for this ACME account`);
    expect(mine.code).toBe(0);

    const other = 'https://acme-staging-v02.api.letsencrypt.org/acme/acct/999';
    const theirs = await check(['acct.example.test'], { accountUri: other });
    expect(theirs.out).toContain(`accounturi=${ACCOUNT} is not this ACME account (${other})`);
    expect(theirs.lines).toContain(
      `               change acct.example.test. CAA 0 issue "letsencrypt.org; accounturi=${ACCOUNT}" to acct.example.test. CAA 0 issue "letsencrypt.org; accounturi=${other}"`,
    );
    expect(theirs.code).toBe(1);

    const unknown = await check(['acct.example.test']);
    expect(unknown.out).toContain(
      `  WARN  CAA    CAA at acct.example.test allows letsencrypt.org only for the ACME account ${ACCOUNT} (RFC 8657); pass --account-uri`,
    );
    expect(unknown.code).toBe(0);
  });

  it('--json: one document with the zone, every name and its checks, and the same exit code', async () => {
    const { code, out } = await check(['example.test', 'missing.example.test'], { json: true });
    const report = JSON.parse(out) as CheckReport;
    expect(report.ok).toBe(false);
    expect(report.zone).toMatchObject({
      zone: 'acme.certflow.test',
      parent: 'certflow.test',
      delegatedTo: ['ns1.acme.certflow.test'],
      zoneNameServers: ['ns1.acme.certflow.test'],
      level: 'ok',
    });
    expect(report.ca).toMatchObject({ identities: ['letsencrypt.org'] });
    expect(report.summary).toEqual({ names: 2, ok: 1, warnings: 0, failing: 1 });
    const missing = report.names.find((n) => n.name === 'missing.example.test');
    expect(missing?.level).toBe('fail');
    expect(missing?.checks.map((c) => [c.check, c.level])).toEqual([
      ['cname', 'fail'],
      ['zone', 'ok'],
      ['caa', 'ok'],
    ]);
    expect(missing?.checks[0]?.fix).toEqual([
      'add to the primary zone: _acme-challenge.missing.example.test. CNAME missing.example.test.acme.certflow.test.',
    ]);
    expect(code).toBe(1);
  });
});
