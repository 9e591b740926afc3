import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getJson } from '../../lambdas/adapters/acme/transport/get-json';
import { resolveCaaIdentities } from '../../lambdas/core/acme/caa-identities';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';

/**
 * Where `plan` and `check` get the CA's CAA identifiers: the directory's meta.caaIdentities
 * (RFC 8555 §7.1.1), else the CA's published identifier for a known directory name.
 */
describe('CA identifiers for CAA', () => {
  let pebble: TestPebble;
  let directory: Server;
  let directoryUrl: string;

  beforeAll(async () => {
    pebble = await startTestPebble({ dnsServer: '127.0.0.1:53' });
    // A directory object as RFC 8555 §7.1.1 shows it, served over real HTTP on loopback.
    directory = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          newNonce: 'https://example.com/acme/new-nonce',
          newAccount: 'https://example.com/acme/new-account',
          newOrder: 'https://example.com/acme/new-order',
          meta: {
            termsOfService: 'https://example.com/acme/terms/2017-5-30',
            website: 'https://www.example.com/',
            caaIdentities: ['example.com'],
            externalAccountRequired: false,
          },
        }),
      );
    });
    await new Promise<void>((resolve) => directory.listen(0, '127.0.0.1', resolve));
    directoryUrl = `http://127.0.0.1:${(directory.address() as AddressInfo).port}/directory`;
  });
  afterAll(async () => {
    await pebble?.stop();
    await new Promise((resolve) => directory?.close(resolve));
  });

  it('takes meta.caaIdentities from the directory when it lists them', async () => {
    expect(await resolveCaaIdentities({ directory: directoryUrl, directoryUrl, getJson })).toEqual({
      identities: ['example.com'],
      source: 'directory',
      note: `meta.caaIdentities of ${directoryUrl}`,
    });
  });

  it('real Pebble lists none: not a known CA, so it says to pass --caa-identity', async () => {
    const found = await resolveCaaIdentities({
      directory: pebble.directoryUrl,
      directoryUrl: pebble.directoryUrl,
      caBundleFile: pebble.caBundleFile,
      getJson,
    });
    expect(found).toEqual({
      identities: [],
      source: 'none',
      note: `${pebble.directoryUrl} lists no meta.caaIdentities, and it is not a known CA; pass --caa-identity <the CA's CAA domain>`,
    });
  });

  it("a known directory name that does not answer: the CA's published identifier", async () => {
    const found = await resolveCaaIdentities({
      directory: 'zerossl',
      // nothing listens on port 1: refused at once
      directoryUrl: 'http://127.0.0.1:1/v2/DV90',
      getJson,
    });
    expect(found.identities).toEqual(['sectigo.com']);
    expect(found.source).toBe('built-in');
    expect(found.note).toMatch(
      /^http:\/\/127\.0\.0\.1:1\/v2\/DV90 was not reachable \(.*ECONNREFUSED.*\); using what zerossl publishes \(https:\/\/help\.zerossl\.com\//,
    );
  });

  it('--caa-identity wins', async () => {
    expect(
      await resolveCaaIdentities({ directory: 'letsencrypt', directoryUrl, override: ['Pki.Goog'], getJson }),
    ).toEqual({ identities: ['pki.goog'], source: 'option', note: 'given with --caa-identity' });
  });
});
