import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { Rfc2136Provider } from '../../lambdas/adapters/dns/rfc2136/rfc2136-provider';
import { sendUpdate } from '../../lambdas/adapters/dns/rfc2136/update';
import { UdpDnsClient } from '../../lambdas/adapters/dns/transport/udp-dns-client';
import { DnsUpdateError } from '../../lambdas/core/errors';
import { freePort, startTestBind, type TestBind } from '../support/bind-fixture';

const APEX = 'example.test.acme.certflow.test';
const WWW = 'www.example.test.acme.certflow.test';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('Rfc2136Provider against BIND 9', () => {
  let bind: TestBind;
  let provider: Rfc2136Provider;
  const client = new UdpDnsClient();

  beforeAll(async () => {
    bind = await startTestBind();
    provider = new Rfc2136Provider({ server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig });
  });
  afterAll(async () => {
    await bind?.stop();
  });

  const serial = async (zone: string): Promise<string> =>
    (await client.query(bind.address, zone, 'SOA')).answers[0]?.data.split(' ')[2] ?? '';

  it('serves two values at one name at once (apex and wildcard of one order)', async () => {
    const changes = await provider.addTxtValues([
      { fqdn: APEX, value: 'apex-value-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
      { fqdn: APEX, value: 'wildcard-value-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
      { fqdn: WWW, value: 'www-value-ccccccccccccccccccccccccccccccccccc' },
    ]);
    expect(changes).toEqual([]);
    expect(await bind.listTxt(APEX)).toEqual([
      'apex-value-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      'wildcard-value-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    ]);
    expect(await bind.listTxt(WWW)).toEqual(['www-value-ccccccccccccccccccccccccccccccccccc']);
    // A resolver following the primary zone's CNAME (as the CA does) sees the same values.
    const viaCname = await client.query(bind.address, '_acme-challenge.example.test', 'TXT', {
      recursionDesired: true,
    });
    expect(viaCname.answers.filter((a) => a.type === 'TXT').map((a) => a.data)).toHaveLength(2);

    await provider.removeTxtValues([
      { fqdn: APEX, value: 'apex-value-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
      { fqdn: APEX, value: 'wildcard-value-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
      { fqdn: WWW, value: 'www-value-ccccccccccccccccccccccccccccccccccc' },
    ]);
    expect(await bind.axfrTxt()).toEqual([]);
  });

  it("keeps another order's value at the same name when one order cleans up", async () => {
    const other = new Rfc2136Provider({ server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig });
    await provider.addTxtValues([{ fqdn: APEX, value: 'order-one' }]);
    await other.addTxtValues([{ fqdn: APEX, value: 'order-two' }]);
    expect(await bind.listTxt(APEX)).toEqual(['order-one', 'order-two']);

    await provider.removeTxtValues([{ fqdn: APEX, value: 'order-one' }]);
    expect(await bind.listTxt(APEX)).toEqual(['order-two']);

    await other.removeTxtValues([{ fqdn: APEX, value: 'order-two' }]);
    expect(await bind.axfrTxt()).toEqual([]);
  });

  it('is idempotent: adding twice keeps one value, removing a missing value is fine', async () => {
    await provider.addTxtValues([{ fqdn: APEX, value: 'twice' }]);
    await provider.addTxtValues([
      { fqdn: APEX, value: 'twice' },
      { fqdn: APEX, value: 'twice' },
    ]);
    expect(await bind.listTxt(APEX)).toEqual(['twice']);
    await provider.removeTxtValues([{ fqdn: APEX, value: 'twice' }]);
    await expect(provider.removeTxtValues([{ fqdn: APEX, value: 'twice' }])).resolves.toBeUndefined();
    expect(await bind.axfrTxt()).toEqual([]);
  });

  it('serves a TXT RRset too large for one UDP answer (the client falls back to TCP)', async () => {
    const values = Array.from(
      { length: 40 },
      (_, i) => `value-${String(i).padStart(2, '0')}-${'x'.repeat(34)}`,
    );
    await provider.addTxtValues(values.map((value) => ({ fqdn: WWW, value })));
    expect(await bind.listTxt(WWW)).toEqual(values);
    await provider.removeTxtValues(values.map((value) => ({ fqdn: WWW, value })));
    expect(await bind.axfrTxt()).toEqual([]);
  });

  it("refuses (REFUSED) the key's update of the primary zone and leaves that zone unchanged", async () => {
    const before = await serial(bind.primaryZone);
    const primary = new Rfc2136Provider({ server: bind.address, zone: bind.primaryZone, tsig: bind.tsig });
    const error = await rejection(
      primary.addTxtValues([{ fqdn: '_acme-challenge.example.test', value: 'hijack' }]),
    );
    expect(error).toBeInstanceOf(DnsUpdateError);
    expect(error.message).toContain('REFUSED');
    expect(error.message).toContain(bind.primaryZone);
    expect(error.message).toContain(bind.tsig.name);
    expect(error.message).not.toContain(bind.tsig.secret);
    expect(await serial(bind.primaryZone)).toBe(before);
    const cname = await client.query(bind.address, '_acme-challenge.example.test', 'CNAME');
    expect(cname.answers.map((a) => a.data)).toEqual([APEX]);
  });

  it('refuses a wrong TSIG secret (BADSIG) without revealing either secret', async () => {
    const wrongSecret = Buffer.alloc(32, 7).toString('base64');
    const impostor = new Rfc2136Provider({
      server: bind.address,
      zone: bind.delegatedZone,
      tsig: { ...bind.tsig, secret: wrongSecret },
    });
    const error = await rejection(impostor.addTxtValues([{ fqdn: APEX, value: 'forged' }]));
    expect(error).toBeInstanceOf(DnsUpdateError);
    expect(error.message).toContain('BADSIG');
    expect(error.message).toContain('dns.tsig.secretFile');
    expect(error.message).not.toContain(wrongSecret);
    expect(error.message).not.toContain(bind.tsig.secret);
    expect(await bind.axfrTxt()).toEqual([]);
  });

  it('refuses an unknown key name (BADKEY)', async () => {
    const stranger = new Rfc2136Provider({
      server: bind.address,
      zone: bind.delegatedZone,
      tsig: { ...bind.tsig, name: 'not-a-key' },
    });
    const error = await rejection(stranger.addTxtValues([{ fqdn: APEX, value: 'x' }]));
    expect(error.message).toContain('BADKEY');
    expect(error.message).toContain('not-a-key');
  });

  it('refuses a non-TXT record in the delegated zone (the key may write TXT only)', async () => {
    const target = { server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig };
    const error = await rejection(
      sendUpdate(target, [
        { op: 'add', record: { name: `evil.${bind.delegatedZone}`, type: 'A', ttl: 60, data: '127.0.0.9' } },
      ]),
    );
    expect(error).toBeInstanceOf(DnsUpdateError);
    expect(error.message).toContain('REFUSED');
    const a = await client.query(bind.address, `evil.${bind.delegatedZone}`, 'A');
    expect(a.answers).toEqual([]);
  });

  it('does not send records outside the delegated zone, and BIND would refuse them anyway', async () => {
    const before = readFileSync(bind.server.logFile, 'utf8');
    const error = await rejection(
      provider.addTxtValues([{ fqdn: '_acme-challenge.example.test', value: 'x' }]),
    );
    expect(error).toBeInstanceOf(DnsUpdateError);
    expect(error.message).toContain('outside the delegated zone acme.certflow.test');
    expect(readFileSync(bind.server.logFile, 'utf8')).toBe(before);

    const target = { server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig };
    const notZone = await rejection(
      sendUpdate(target, [
        { op: 'add', record: { name: 'x.example.test', type: 'TXT', ttl: 60, data: 'x' } },
      ]),
    );
    expect(notZone.message).toContain('NOTZONE');
  });

  it('reads the values back over TCP, like the update, so a server reachable only over TCP works', async () => {
    // A TCP-only relay in front of BIND (as a firewall allowing only TCP 53, or a fault-injection
    // proxy, would be): nothing answers UDP on its port.
    const relay = createServer((client) => {
      const upstream = connect(bind.address.port, bind.address.host);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as { port: number }).port;
    try {
      const viaRelay = new Rfc2136Provider({
        server: { host: '127.0.0.1', port },
        zone: bind.delegatedZone,
        tsig: bind.tsig,
      });
      await viaRelay.addTxtValues([{ fqdn: APEX, value: 'tcp-only' }]);
      expect(await bind.listTxt(APEX)).toEqual(['tcp-only']);
      await viaRelay.removeTxtValues([{ fqdn: APEX, value: 'tcp-only' }]);
      expect(await bind.axfrTxt()).toEqual([]);
    } finally {
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('reports an unreachable server as DnsUpdateError naming server and zone', async () => {
    const port = await freePort();
    const nowhere = new Rfc2136Provider({
      server: { host: '127.0.0.1', port },
      zone: bind.delegatedZone,
      tsig: bind.tsig,
      timeoutMs: 1000,
    });
    const error = await rejection(nowhere.addTxtValues([{ fqdn: APEX, value: 'x' }]));
    expect(error).toBeInstanceOf(DnsUpdateError);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain(bind.delegatedZone);
  });
});
