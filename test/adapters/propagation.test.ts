import { Rfc2136Provider } from '../../lambdas/adapters/dns/rfc2136/rfc2136-provider';
import { UdpDnsClient } from '../../lambdas/core/dns/dns-client';
import { checkTxtPropagation, discoverAuthoritativeServers } from '../../lambdas/core/dns/propagation';
import { DnsQueryError } from '../../lambdas/core/errors';
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
