import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rfc2136Provider } from '../../lambdas/adapters/dns/rfc2136/rfc2136-provider';
import { clip, PAYLOAD_BOUNDS } from '../../lambdas/core/state';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { opensslVerify, sanNames } from '../support/certificates';
import type { TestDnsServer } from '../support/dns-fixture';
import { startTestKnot } from '../support/knot-fixture';
import { startTestPowerDns } from '../support/pdns-fixture';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';
import { startTestResolver, type TestResolver } from '../support/resolver-fixture';

/**
 * `certflow local --external` against Knot DNS and PowerDNS: the TXT values are written into the
 * server under test with its own tool's key file as `dns.tsig.secretFile`, and Pebble validates
 * through a BIND resolver that forwards the demo zones to that server (Pebble asks one resolver
 * and does not chase the `_acme-challenge` CNAME itself; Knot does not follow a CNAME into its
 * other zone, so a resolver in front is needed, and it is also how a real CA sees the zones).
 */

const APEX = 'example.test.acme.certflow.test';

interface Setup {
  server: TestDnsServer & { keyFile: string };
  resolver: TestResolver;
  pebble: TestPebble;
  workdir: string;
}

async function setUp(start: () => Promise<TestDnsServer & { keyFile: string }>): Promise<Setup> {
  const server = await start();
  const stops: (() => Promise<void>)[] = [() => server.stop()];
  try {
    const resolver = await startTestResolver([server.primaryZone, server.delegatedZone], server.address);
    stops.push(() => resolver.stop());
    // No authorization reuse: every order publishes, validates and cleans up its own values.
    const pebble = await startTestPebble({ dnsServer: resolver.hostPort, env: { PEBBLE_AUTHZREUSE: '0' } });
    return { server, resolver, pebble, workdir: mkdtempSync(join(tmpdir(), 'certflow-ext-servers-')) };
  } catch (error) {
    for (const stop of stops.reverse()) await stop();
    throw error;
  }
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  if (setup === undefined) return;
  await setup.pebble.stop();
  await setup.resolver.stop();
  await setup.server.stop();
  rmSync(setup.workdir, { recursive: true, force: true });
}

function writeConfig(
  setup: Setup,
  name: string,
  certificates: { name: string; domains: string[] }[],
): string {
  const { server, resolver, pebble, workdir } = setup;
  const dns = `127.0.0.1:${server.address.port}`;
  const file = join(workdir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      acme: {
        directory: pebble.directoryUrl,
        email: 'ops@example.test',
        termsOfServiceAgreed: true,
        caBundleFile: pebble.caBundleFile,
      },
      delegation: {
        zone: server.delegatedZone,
        domains: [server.primaryZone],
        nameservers: [dns],
        resolver: resolver.hostPort,
      },
      dns: {
        provider: 'rfc2136',
        server: dns,
        tsig: { name: server.tsig.name, algorithm: 'hmac-sha256', secretFile: server.keyFile },
      },
      timing: {
        propagationIntervalSeconds: 1,
        propagationMaxChecks: 10,
        orderIntervalSeconds: 1,
        orderMaxChecks: 30,
      },
      storage: { localDirectory: join(workdir, 'certs'), defaultStores: ['local'] },
      certificates,
    }),
  );
  return file;
}

async function run(setup: Setup, configFile: string): Promise<{ result: LocalRunResult; text: string }> {
  const lines: string[] = [];
  const result = await runLocal({
    workdir: setup.workdir,
    configFile,
    external: true,
    force: true,
    out: (l) => lines.push(l),
  });
  return { result, text: lines.join('\n') };
}

/** Every file a run writes where a secret could leak: history, handler logs, alerts. */
function runRecords(workdir: string): string[] {
  const runsDir = join(workdir, 'runs');
  const texts = readdirSync(runsDir).flatMap((r) =>
    ['history.json', 'handlers.log'].map((f) => readFileSync(join(runsDir, r, f), 'utf8')),
  );
  try {
    texts.push(readFileSync(join(workdir, 'state', 'alerts.jsonl'), 'utf8'));
  } catch {
    // no alert was sent
  }
  return texts;
}

const SERVERS: [string, () => Promise<TestDnsServer & { keyFile: string }>][] = [
  ['Knot DNS (key file from keymgr -t)', startTestKnot],
  ['PowerDNS (key file from pdnsutil generate-tsig-key)', startTestPowerDns],
];

for (const [product, start] of SERVERS) {
  describe(`local mode against ${product}`, () => {
    let setup: Setup | undefined;
    beforeAll(async () => {
      setup = await setUp(start);
    });
    afterAll(async () => {
      await tearDown(setup);
    });

    it("issues apex + wildcard and www, removes its values, and keeps another order's value", async () => {
      const s = setup as Setup;
      // Another order's value at the name the apex and the wildcard use: it must survive the run.
      const other = new Rfc2136Provider({
        server: s.server.address,
        zone: s.server.delegatedZone,
        tsig: s.server.tsig,
      });
      await other.addTxtValues([{ fqdn: APEX, value: 'another-orders-value' }]);

      const { result, text } = await run(
        s,
        writeConfig(s, 'issue', [
          { name: 'apex', domains: ['example.test', '*.example.test'] },
          { name: 'www', domains: ['www.example.test'] },
        ]),
      );
      expect(text).not.toContain('FAILED');
      expect(result.exitCode).toBe(0);
      expect(result.summary?.issued.map((i) => i.certificate).sort()).toEqual(['apex', 'www']);
      const root = join(s.workdir, 'root.pem');
      writeFileSync(root, await s.pebble.rootCertificatePem());
      const live = (name: string) => join(s.workdir, 'certs', 'live', name);
      expect(opensslVerify(root, live('apex'))).toMatch(/: OK$/);
      expect(opensslVerify(root, live('www'))).toMatch(/: OK$/);
      expect(sanNames(join(live('apex'), 'cert.pem'))).toEqual(['*.example.test', 'example.test']);

      expect(await s.server.axfrTxt()).toEqual([{ name: APEX, value: 'another-orders-value' }]);
      for (const record of runRecords(s.workdir)) expect(record).not.toContain(s.server.tsig.secret);
      await other.removeTxtValues([{ fqdn: APEX, value: 'another-orders-value' }]);
    });
  });
}

describe('local mode against PowerDNS whose Lua policy drops the change', () => {
  let setup: Setup | undefined;
  beforeAll(async () => {
    // A policy written for another zone: PowerDNS answers NOERROR and stores nothing.
    setup = await setUp(() =>
      startTestPowerDns({
        updatePolicy: `function updatepolicy(request)
  return request:getZoneName():equal("acme.example.net") and request:getQType() == pdns.TXT
end
`,
      }),
    );
  });
  afterAll(async () => {
    await tearDown(setup);
  });

  it('fails at PublishRecords naming the likely cause, not minutes later as a propagation timeout', async () => {
    const s = setup as Setup;
    const { result, text } = await run(
      s,
      writeConfig(s, 'dropped', [{ name: 'www', domains: ['www.example.test'] }]),
    );
    expect(result.exitCode).toBe(1);
    expect(result.summary?.failed).toEqual([
      expect.objectContaining({ certificate: 'www', step: 'PublishRecords', error: 'DnsUpdateError' }),
    ]);
    const why = `DNS UPDATE of zone acme.certflow.test at 127.0.0.1:${s.server.address.port} answered NOERROR (signed with key "certflow-acme") but does not serve the added values (read back with RD=0): www.example.test.acme.certflow.test lacks 1 of 1 value. The server dropped the change without refusing it, as PowerDNS does when its lua-dnsupdate-policy-script's updatepolicy() returns false; let it return true for key certflow-acme, zone acme.certflow.test and type TXT`;
    // The report prints it whole; the run summary carries it cut to its payload bound.
    expect(text).toContain(`  ${why}`);
    expect(result.summary?.failed[0]?.message).toBe(clip(why, PAYLOAD_BOUNDS.messageChars));
    expect(text).not.toMatch(/CheckPropagation/);
    expect(await s.server.axfrTxt()).toEqual([]);
  });
});
