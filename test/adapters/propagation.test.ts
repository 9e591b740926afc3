import { Rfc2136Provider } from '../../lambdas/adapters/dns/rfc2136/rfc2136-provider';
import { UdpDnsClient } from '../../lambdas/adapters/dns/transport/udp-dns-client';
import { checkTxtPropagation, discoverAuthoritativeServers } from '../../lambdas/core/dns/propagation';
import { DnsQueryError, PropagationTimeoutError } from '../../lambdas/core/errors';
import { JsonLogger } from '../../lambdas/core/logger';
import type { CertificateItem } from '../../lambdas/core/state';
import { checkPropagation } from '../../lambdas/core/steps/check-propagation';
import type { StepContext } from '../../lambdas/core/steps/context';
import { freePort, startTestBind, type TestBind } from '../support/bind-fixture';

const APEX = 'example.test.acme.certflow.test';
const WWW = 'www.example.test.acme.certflow.test';

describe('propagation checks against BIND', () => {
  let bind: TestBind;
  let provider: Rfc2136Provider;
  const client = new UdpDnsClient({ timeoutMs: 300, retries: 0 });

  beforeAll(async () => {
    bind = await startTestBind();
    provider = new Rfc2136Provider({ server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig });
  });
  afterAll(async () => {
    await bind?.stop();
  });

  const records = [
    { fqdn: APEX, value: 'apex-token-0123456789abcdefghijklmnopqrstuvw' },
    { fqdn: APEX, value: 'wild-token-0123456789abcdefghijklmnopqrstuvw' },
    { fqdn: WWW, value: 'www-token-0123456789abcdefghijklmnopqrstuvwx' },
  ];

  it('reports each missing value with its name and server, then ready once all are served', async () => {
    const before = await checkTxtPropagation(records, [bind.address], client);
    expect(before.ready).toBe(false);
    expect(before.missing).toHaveLength(3);
    expect(before.missing).toContain(`apex-token-0… at ${APEX} on 127.0.0.1:${bind.address.port}`);

    await provider.addTxtValues(records.slice(0, 2));
    const partial = await checkTxtPropagation(records, [bind.address], client);
    expect(partial).toEqual({
      ready: false,
      missing: [`www-token-01… at ${WWW} on 127.0.0.1:${bind.address.port}`],
      leftOut: [],
    });

    await provider.addTxtValues([...records.slice(2), { fqdn: APEX, value: 'another-orders-value' }]);
    await expect(checkTxtPropagation(records, [bind.address], client)).resolves.toEqual({
      ready: true,
      missing: [],
      leftOut: [],
    });
    await provider.removeTxtValues([...records, { fqdn: APEX, value: 'another-orders-value' }]);
  });

  it('is not ready while one of the servers does not answer, and says which', async () => {
    await provider.addTxtValues(records);
    const dead = { host: '127.0.0.1', port: await freePort() };
    const result = await checkTxtPropagation(records, [bind.address, dead], client);
    expect(result.ready).toBe(false);
    expect(result.missing.every((m) => m.includes(`127.0.0.1:${dead.port}`))).toBe(true);
    expect(result.missing).toHaveLength(2);
    await provider.removeTxtValues(records);
  });

  it('is not ready, never an error, when no server answers at all: each server and name is named with its failure', async () => {
    const dead = { host: '127.0.0.1', port: await freePort() };
    const result = await checkTxtPropagation(records, [dead], client);
    expect(result.ready).toBe(false);
    expect(result.leftOut).toEqual([]);
    expect(result.missing).toEqual([
      expect.stringMatching(
        new RegExp(`^no answer for ${APEX} on 127\\.0\\.0\\.1:${dead.port}: .*ECONNREFUSED`),
      ),
      expect.stringMatching(
        new RegExp(`^no answer for ${WWW} on 127\\.0\\.0\\.1:${dead.port}: .*ECONNREFUSED`),
      ),
    ]);
  });

  it("discovers the zone's authoritative servers from its NS records", async () => {
    await expect(discoverAuthoritativeServers(bind.delegatedZone, bind.address, client)).resolves.toEqual([
      { host: '127.0.0.1', port: 53 },
    ]);
    await expect(discoverAuthoritativeServers('nowhere.test', bind.address, client)).rejects.toThrow(
      DnsQueryError,
    );
  });
});

describe('CheckPropagation when the name servers cannot be found', () => {
  it("waits (not ready, naming the zone and the resolver's failure) and, at its last check, fails with PropagationTimeoutError saying the same", async () => {
    const dead = { host: '127.0.0.1', port: await freePort() };
    const client = new UdpDnsClient({ timeoutMs: 200, retries: 0 });
    const logged: string[] = [];
    const ctx = {
      config: { delegation: { zone: 'acme.certflow.test' }, timing: { propagationMaxChecks: 2 } },
      dnsProvider: () => ({ name: 'rfc2136' }),
      dnsClient: () => client,
      authoritativeServers: () => discoverAuthoritativeServers('acme.certflow.test', dead, client),
      logger: new JsonLogger((line) => logged.push(line), { step: 'CheckPropagation' }),
      metrics: { add: () => undefined },
      now: () => new Date(),
    } as unknown as StepContext;
    const item = {
      certificate: 'www',
      runId: 'run-1',
      accountUrl: 'https://ca.example/acct/1',
      order: { records: [{ fqdn: WWW, value: 'www-token' }] },
    } as unknown as CertificateItem;

    const first = await checkPropagation(item, ctx);
    expect(first).toMatchObject({ ready: false, checks: 1 });
    expect(first.waitingFor).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the authoritative servers of acme\\.certflow\\.test: DNS query NS acme\\.certflow\\.test at 127\\.0\\.0\\.1:${dead.port} failed: .*ECONNREFUSED`,
        ),
      ),
    ]);
    await expect(checkPropagation({ ...item, propagation: first }, ctx)).rejects.toThrow(
      /^TXT values not visible at every authoritative server after 2 checks: the authoritative servers of acme\.certflow\.test: /,
    );
    await expect(checkPropagation({ ...item, propagation: first }, ctx)).rejects.toThrow(
      PropagationTimeoutError,
    );
  });
});
