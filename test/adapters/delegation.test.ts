import { UdpDnsClient } from '../../lambdas/adapters/dns/transport/udp-dns-client';
import { resolveDelegation } from '../../lambdas/core/dns/delegation';
import type { DnsClient } from '../../lambdas/core/dns/dns-client';
import { DelegationError, DnsQueryError } from '../../lambdas/core/errors';
import { freePort, startTestBind, type TestBind } from '../support/bind-fixture';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('resolveDelegation through BIND recursion', () => {
  let bind: TestBind;
  const client = new UdpDnsClient();
  const opts = (): { zone: string; resolver: TestBind['address']; client: DnsClient } => ({
    zone: bind.delegatedZone,
    resolver: bind.address,
    client,
  });

  beforeAll(async () => {
    bind = await startTestBind({
      extraCnames: [
        { name: '_acme-challenge.rogue.example.test', target: 'rogue.attacker.test' },
        { name: '_acme-challenge.hop.example.test', target: 'relay.example.test' },
        { name: 'relay.example.test', target: 'hop.example.test.acme.certflow.test' },
        { name: '_acme-challenge.loop.example.test', target: 'loop-a.example.test' },
        { name: 'loop-a.example.test', target: '_acme-challenge.loop.example.test' },
      ],
    });
  });
  afterAll(async () => {
    await bind?.stop();
  });

  it('follows the demo CNAMEs into the delegated zone (apex, wildcard and www)', async () => {
    await expect(resolveDelegation('example.test', opts())).resolves.toEqual({
      challengeName: '_acme-challenge.example.test',
      fqdn: 'example.test.acme.certflow.test',
      chain: ['example.test.acme.certflow.test'],
    });
    await expect(resolveDelegation('*.example.test', opts())).resolves.toEqual({
      challengeName: '_acme-challenge.example.test',
      fqdn: 'example.test.acme.certflow.test',
      chain: ['example.test.acme.certflow.test'],
    });
    await expect(resolveDelegation('www.example.test', opts())).resolves.toEqual({
      challengeName: '_acme-challenge.www.example.test',
      fqdn: 'www.example.test.acme.certflow.test',
      chain: ['www.example.test.acme.certflow.test'],
    });
  });

  it('follows a chain of several CNAMEs', async () => {
    await expect(resolveDelegation('hop.example.test', opts())).resolves.toEqual({
      challengeName: '_acme-challenge.hop.example.test',
      fqdn: 'hop.example.test.acme.certflow.test',
      chain: ['relay.example.test', 'hop.example.test.acme.certflow.test'],
    });
  });

  it('uses a name inside the delegated zone as it is', async () => {
    await expect(resolveDelegation('svc.acme.certflow.test', opts())).resolves.toEqual({
      challengeName: '_acme-challenge.svc.acme.certflow.test',
      fqdn: '_acme-challenge.svc.acme.certflow.test',
      chain: [],
    });
  });

  it('without a CNAME, names the missing record and the exact line to add', async () => {
    const error = await rejection(resolveDelegation('api.example.test', opts()));
    expect(error).toBeInstanceOf(DelegationError);
    expect(error.message).toBe(
      '_acme-challenge.api.example.test has no CNAME into the delegated zone acme.certflow.test; add to the primary zone: _acme-challenge.api.example.test. CNAME api.example.test.acme.certflow.test.',
    );
    expect((error as DelegationError).expectedRecord).toBe(
      '_acme-challenge.api.example.test. CNAME api.example.test.acme.certflow.test.',
    );
    expect((error as DelegationError).domain).toBe('api.example.test');
    expect((error as DelegationError).chain).toEqual([]);
  });

  it('refuses a CNAME that points outside the delegated zone, naming where it points', async () => {
    const error = await rejection(resolveDelegation('rogue.example.test', opts()));
    expect(error).toBeInstanceOf(DelegationError);
    expect(error.message).toContain('points to rogue.attacker.test, which is outside the delegated zone');
    expect((error as DelegationError).chain).toEqual(['rogue.attacker.test']);
    expect(error.message).toContain(
      'add to the primary zone: _acme-challenge.rogue.example.test. CNAME rogue.example.test.acme.certflow.test.',
    );
  });

  it('detects a CNAME loop', async () => {
    const error = await rejection(resolveDelegation('loop.example.test', opts()));
    expect(error).toBeInstanceOf(DelegationError);
    expect(error.message).toContain('loop');
  });

  it('reports a resolver that does not answer as DnsQueryError (retryable), not a delegation problem', async () => {
    const resolver = { host: '127.0.0.1', port: await freePort() };
    const quick = new UdpDnsClient({ timeoutMs: 200, retries: 0 });
    const error = await rejection(
      resolveDelegation('example.test', { zone: bind.delegatedZone, resolver, client: quick }),
    );
    expect(error).toBeInstanceOf(DnsQueryError);
    expect(error.message).toContain(`127.0.0.1:${resolver.port}`);
    expect(error.message).toContain('_acme-challenge.example.test');
  });
});
