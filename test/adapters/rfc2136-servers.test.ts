import { Rfc2136Provider } from '../../lambdas/adapters/dns/rfc2136/rfc2136-provider';
import type { TsigKey } from '../../lambdas/adapters/dns/rfc2136/tsig';
import { sendUpdate } from '../../lambdas/adapters/dns/rfc2136/update';
import { UdpDnsClient } from '../../lambdas/adapters/dns/transport/udp-dns-client';
import { DnsUpdateError } from '../../lambdas/core/errors';
import { startTestBind } from '../support/bind-fixture';
import type { TestDnsServer } from '../support/dns-fixture';
import { startTestKnot } from '../support/knot-fixture';
import { startTestPowerDns, type TestPowerDns } from '../support/pdns-fixture';

/**
 * The rfc2136 provider against the three servers it supports, each configured as its README
 * says (the key may write TXT records in the delegated zone only). Each refusal asserts the
 * whole message a user sees: what the server answered, what it means, and what to change.
 */

const APEX = 'example.test.acme.certflow.test';
const WRONG_SECRET = Buffer.alloc(32, 7).toString('base64');

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** The policy fix every signed refusal carries, spelled out once here. */
const policyFix = (zone: string) =>
  `certflow writes only TXT records in ${zone}; let key "certflow-acme" do exactly that — BIND: update-policy { grant certflow-acme subdomain ${zone}. TXT; }; Knot: an acl with key: certflow-acme, action: update, update-type: [TXT] in the acl list of zone ${zone}; PowerDNS: domain metadata TSIG-ALLOW-DNSUPDATE certflow-acme and ALLOW-DNSUPDATE-FROM this host on ${zone}, or a lua-dnsupdate-policy-script whose updatepolicy() returns true for key certflow-acme, zone ${zone} and type TXT`;

const signedRefusal = (at: string, zone: string) =>
  `DNS UPDATE of zone ${zone} at ${at} refused (REFUSED, signed with key "certflow-acme"): the server accepted the key but its update policy denies this change. ${policyFix(zone)}. Check too that delegation.zone (${zone}) is the zone the key may write`;

const badKey = (at: string, zone: string, key: string, algorithm: string) =>
  `DNS UPDATE of zone ${zone} at ${at} refused (NOTAUTH/BADKEY): either the server has no key "${key}" with algorithm ${algorithm} — check dns.tsig.name and dns.tsig.algorithm against the server's key — or it has the key and its ACL denies this change, which Knot answers this way: Knot needs an acl with key: ${key}, action: update, update-type: [TXT] in the acl list of zone ${zone}`;

const badSig = (at: string) =>
  `DNS UPDATE of zone acme.certflow.test at ${at} refused (NOTAUTH/BADSIG): the server knows key "certflow-acme" but our signature does not verify: dns.tsig.secretFile / dns.tsig.secretEnv does not hold the server's secret for "certflow-acme"`;

const unsignedRefused = (at: string, key: string, algorithm: string) =>
  `DNS UPDATE of zone acme.certflow.test at ${at} refused (REFUSED, unsigned): the server did not accept our TSIG signature: unknown key name, wrong secret or wrong algorithm (PowerDNS answers all three this way); check that the server has a key named "${key}" (dns.tsig.name) with algorithm ${algorithm} (dns.tsig.algorithm) and that dns.tsig.secretFile / dns.tsig.secretEnv holds that key's secret (PowerDNS: pdnsutil list-tsig-keys)`;

const droppedAdd = (at: string, zone: string, list: string) =>
  `DNS UPDATE of zone ${zone} at ${at} answered NOERROR (signed with key "certflow-acme") but does not serve the added values (read back with RD=0): ${list}. The server dropped the change without refusing it, as PowerDNS does when its lua-dnsupdate-policy-script's updatepolicy() returns false; let it return true for key certflow-acme, zone ${zone} and type TXT`;

const notAuthoritative = (at: string) =>
  `DNS UPDATE of zone other.test at ${at} refused (NOTAUTH, signed with key "certflow-acme"): the server is not authoritative for zone other.test; point dns.server at the primary of other.test, or fix delegation.zone`;

interface ServerCase {
  start: () => Promise<TestDnsServer>;
  /** What a write into the primary zone (no update rights there) yields. */
  primaryZoneRefusal: (at: string) => string;
  /** What an A record in the delegated zone yields: a message, or NOERROR with nothing stored. */
  nonTxtRefusal: ((at: string) => string) | 'accepted-but-not-stored';
  wrongSecret: (at: string) => string;
  unknownKey: (at: string) => string;
  wrongAlgorithm: (at: string) => string;
  /** What an update of a zone the server does not serve yields. */
  unknownZone: (at: string) => string;
}

const SERVERS: [string, ServerCase][] = [
  [
    'BIND 9',
    {
      start: startTestBind,
      primaryZoneRefusal: (at) => signedRefusal(at, 'example.test'),
      nonTxtRefusal: (at) => signedRefusal(at, 'acme.certflow.test'),
      wrongSecret: badSig,
      unknownKey: (at) => badKey(at, 'acme.certflow.test', 'not-a-key', 'hmac-sha256'),
      wrongAlgorithm: (at) => badKey(at, 'acme.certflow.test', 'certflow-acme', 'hmac-sha512'),
      unknownZone: notAuthoritative,
    },
  ],
  [
    'Knot DNS',
    {
      start: startTestKnot,
      // Knot answers an ACL denial exactly like an unknown key: NOTAUTH, TSIG error BADKEY, no MAC.
      primaryZoneRefusal: (at) => badKey(at, 'example.test', 'certflow-acme', 'hmac-sha256'),
      nonTxtRefusal: (at) => badKey(at, 'acme.certflow.test', 'certflow-acme', 'hmac-sha256'),
      wrongSecret: badSig,
      unknownKey: (at) => badKey(at, 'acme.certflow.test', 'not-a-key', 'hmac-sha256'),
      wrongAlgorithm: (at) => badKey(at, 'acme.certflow.test', 'certflow-acme', 'hmac-sha512'),
      // Knot does not sign its answer for a zone it does not serve.
      unknownZone: (at) =>
        `DNS UPDATE of zone other.test at ${at} refused (NOTAUTH, unsigned): either the server did not accept our TSIG signature (unknown key name, wrong secret or wrong algorithm) or it is not authoritative for zone other.test (Knot answers so for a zone it does not serve); check that dns.server is the primary of other.test and that the server has a key named "certflow-acme" (dns.tsig.name) with algorithm hmac-sha256 (dns.tsig.algorithm) and that dns.tsig.secretFile / dns.tsig.secretEnv holds that key's secret (PowerDNS: pdnsutil list-tsig-keys)`,
    },
  ],
  [
    'PowerDNS',
    {
      start: startTestPowerDns,
      // The Lua policy refuses with NOERROR and stores nothing; the read-back turns it into an error.
      primaryZoneRefusal: (at) =>
        droppedAdd(at, 'example.test', '_acme-challenge.example.test lacks 1 of 1 value'),
      nonTxtRefusal: 'accepted-but-not-stored',
      // PowerDNS answers every TSIG failure with an unsigned REFUSED.
      wrongSecret: (at) => unsignedRefused(at, 'certflow-acme', 'hmac-sha256'),
      unknownKey: (at) => unsignedRefused(at, 'not-a-key', 'hmac-sha256'),
      wrongAlgorithm: (at) => unsignedRefused(at, 'certflow-acme', 'hmac-sha512'),
      unknownZone: notAuthoritative,
    },
  ],
];

for (const [product, expected] of SERVERS) {
  describe(`Rfc2136Provider against ${product}`, () => {
    let server: TestDnsServer;
    let at: string;
    const client = new UdpDnsClient();
    const provider = (tsig: Partial<TsigKey> = {}, zone = server.delegatedZone) =>
      new Rfc2136Provider({ server: server.address, zone, tsig: { ...server.tsig, ...tsig } });
    const serial = async (zone: string): Promise<string> =>
      (await client.query(server.address, zone, 'SOA')).answers[0]?.data.split(' ')[2] ?? '';

    beforeAll(async () => {
      server = await expected.start();
      at = `127.0.0.1:${server.address.port}`;
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("adds and removes its values, and another order's value at the same name survives", async () => {
      const ours = provider();
      const other = provider();
      await other.addTxtValues([{ fqdn: APEX, value: 'foreign-value' }]);
      await ours.addTxtValues([
        { fqdn: APEX, value: 'apex-value' },
        { fqdn: APEX, value: 'wildcard-value' },
      ]);
      expect(await server.listTxt(APEX)).toEqual(['apex-value', 'foreign-value', 'wildcard-value']);

      await ours.removeTxtValues([
        { fqdn: APEX, value: 'apex-value' },
        { fqdn: APEX, value: 'wildcard-value' },
      ]);
      expect(await server.listTxt(APEX)).toEqual(['foreign-value']);
      expect(await server.axfrTxt()).toEqual([{ name: APEX, value: 'foreign-value' }]);

      await other.removeTxtValues([{ fqdn: APEX, value: 'foreign-value' }]);
      expect(await server.axfrTxt()).toEqual([]);
    });

    it('refuses a write into the primary zone, with the fix, and leaves that zone unchanged', async () => {
      const before = await serial(server.primaryZone);
      const error = await rejection(
        provider({}, server.primaryZone).addTxtValues([
          { fqdn: '_acme-challenge.example.test', value: 'hijack' },
        ]),
      );
      expect(error).toBeInstanceOf(DnsUpdateError);
      expect(error.message).toBe(expected.primaryZoneRefusal(at));
      expect(await serial(server.primaryZone)).toBe(before);
      const cname = await client.query(server.address, '_acme-challenge.example.test', 'CNAME');
      expect(cname.answers.map((a) => a.data)).toEqual([APEX]);
    });

    it('does not let the key write anything but TXT in the delegated zone', async () => {
      const update = sendUpdate({ server: server.address, zone: server.delegatedZone, tsig: server.tsig }, [
        {
          op: 'add',
          record: { name: `evil.${server.delegatedZone}`, type: 'A', ttl: 60, data: '127.0.0.9' },
        },
      ]);
      if (expected.nonTxtRefusal === 'accepted-but-not-stored') {
        // The server says NOERROR: only reading back shows the change was dropped.
        await expect(update).resolves.toBeUndefined();
      } else {
        const error = await rejection(update);
        expect(error).toBeInstanceOf(DnsUpdateError);
        expect(error.message).toBe(expected.nonTxtRefusal(at));
      }
      const a = await client.query(server.address, `evil.${server.delegatedZone}`, 'A');
      expect(a.answers).toEqual([]);
    });

    it('refuses a wrong secret and says which setting to fix, without either secret', async () => {
      const error = await rejection(
        provider({ secret: WRONG_SECRET }).addTxtValues([{ fqdn: APEX, value: 'forged' }]),
      );
      expect(error).toBeInstanceOf(DnsUpdateError);
      expect(error.message).toBe(expected.wrongSecret(at));
      expect(error.message).not.toContain(WRONG_SECRET);
      expect(error.message).not.toContain(server.tsig.secret);
      expect(await server.axfrTxt()).toEqual([]);
    });

    it('refuses an unknown key name', async () => {
      const error = await rejection(
        provider({ name: 'not-a-key' }).addTxtValues([{ fqdn: APEX, value: 'x' }]),
      );
      expect(error.message).toBe(expected.unknownKey(at));
      expect(await server.axfrTxt()).toEqual([]);
    });

    it('refuses the right key with the wrong algorithm', async () => {
      const error = await rejection(
        provider({ algorithm: 'hmac-sha512' }).addTxtValues([{ fqdn: APEX, value: 'x' }]),
      );
      expect(error.message).toBe(expected.wrongAlgorithm(at));
      expect(await server.axfrTxt()).toEqual([]);
    });

    it('says when the server is not authoritative for the configured zone', async () => {
      const error = await rejection(
        provider({}, 'other.test').addTxtValues([{ fqdn: 'x.other.test', value: 'x' }]),
      );
      expect(error.message).toBe(expected.unknownZone(at));
    });
  });
}

describe('PowerDNS without a Lua update policy (domain metadata only)', () => {
  let pdns: TestPowerDns;
  beforeAll(async () => {
    pdns = await startTestPowerDns({ updatePolicy: null });
  });
  afterAll(async () => {
    await pdns?.stop();
  });

  it('answers a zone without TSIG-ALLOW-DNSUPDATE / ALLOW-DNSUPDATE-FROM with a signed REFUSED', async () => {
    const primary = new Rfc2136Provider({ server: pdns.address, zone: pdns.primaryZone, tsig: pdns.tsig });
    const error = await rejection(
      primary.addTxtValues([{ fqdn: '_acme-challenge.example.test', value: 'hijack' }]),
    );
    expect(error.message).toBe(signedRefusal(`127.0.0.1:${pdns.address.port}`, 'example.test'));
  });

  it('lets the key write any record type in its zone, which is why the README asks for the Lua policy', async () => {
    await sendUpdate({ server: pdns.address, zone: pdns.delegatedZone, tsig: pdns.tsig }, [
      { op: 'add', record: { name: `host.${pdns.delegatedZone}`, type: 'A', ttl: 60, data: '127.0.0.9' } },
    ]);
    const a = await new UdpDnsClient().query(pdns.address, `host.${pdns.delegatedZone}`, 'A');
    expect(a.answers.map((r) => r.data)).toEqual(['127.0.0.9']);
  });
});

describe('Rfc2136Provider reading back from PowerDNS', () => {
  let pdns: TestPowerDns;
  beforeAll(async () => {
    pdns = await startTestPowerDns();
  });
  afterAll(async () => {
    await pdns?.stop();
  });

  it('fails a removal the Lua policy silently refused, because the value is still served', async () => {
    // A TXT record in the primary zone, put there by the operator (not through the key).
    pdns.pdnsutil('add-record', 'example.test', 'note', 'TXT', '"operator-value"');
    const primary = new Rfc2136Provider({ server: pdns.address, zone: pdns.primaryZone, tsig: pdns.tsig });
    const error = await rejection(
      primary.removeTxtValues([{ fqdn: 'note.example.test', value: 'operator-value' }]),
    );
    expect(error).toBeInstanceOf(DnsUpdateError);
    expect(error.message).toBe(
      `DNS UPDATE of zone example.test at 127.0.0.1:${pdns.address.port} answered NOERROR (signed with key "certflow-acme") to the removal but still serves the values (read back with RD=0): note.example.test still has 1 of 1 value. The server ignored the deletion without refusing it, as PowerDNS does when its lua-dnsupdate-policy-script's updatepolicy() returns false; let it return true for key certflow-acme, zone example.test and type TXT, deletions included`,
    );
    expect(await pdns.listTxt('note.example.test')).toEqual(['operator-value']);
  });

  it('names every name whose values are missing, with counts, when only some were refused', async () => {
    const policy = `function updatepolicy(request)
  return request:getQType() == pdns.TXT and not request:getQName():equal("www.example.test.acme.certflow.test")
end
`;
    const picky = await startTestPowerDns({ updatePolicy: policy });
    try {
      const provider = new Rfc2136Provider({
        server: picky.address,
        zone: picky.delegatedZone,
        tsig: picky.tsig,
      });
      const error = await rejection(
        provider.addTxtValues([
          { fqdn: APEX, value: 'apex' },
          { fqdn: 'www.example.test.acme.certflow.test', value: 'www-1' },
          { fqdn: 'www.example.test.acme.certflow.test', value: 'www-2' },
        ]),
      );
      expect(error.message).toBe(
        droppedAdd(
          `127.0.0.1:${picky.address.port}`,
          'acme.certflow.test',
          'www.example.test.acme.certflow.test lacks 2 of 2 values',
        ),
      );
      expect(await picky.listTxt(APEX)).toEqual(['apex']);
    } finally {
      await picky.stop();
    }
  });
});
