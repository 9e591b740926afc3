import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeHttpsTransport } from '../../lambdas/adapters/acme/transport/node-https';
import { useAcmeTransport } from '../../lambdas/core/acme/client';
import { fetchRenewalWindow } from '../../lambdas/core/renewal/ari';

/**
 * RFC 9773 client at its HTTP boundary. Debian's Pebble 2.4 has no renewalInfo, so a loopback
 * HTTP server plays the CA's directory and renewalInfo resource.
 */
describe('ACME Renewal Information (RFC 9773)', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  let offerAri = true;

  beforeAll(async () => {
    // The ACME transport the runtime installs (lambdas/runtime/wiring/accounts.ts).
    useAcmeTransport(nodeHttpsTransport);
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.url === '/dir') {
        res.end(
          JSON.stringify({
            newOrder: `${base}/new-order`,
            ...(offerAri ? { renewalInfo: `${base}/renewal-info/` } : {}),
          }),
        );
      } else if (req.url === '/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE') {
        res.setHeader('retry-after', '21600');
        res.end(
          JSON.stringify({ suggestedWindow: { start: '2026-12-01T00:00:00Z', end: '2026-12-03T00:00:00Z' } }),
        );
      } else {
        res.statusCode = 404;
        res.end(
          JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'unknown certificate' }),
        );
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the suggested window of a certificate by its CertID', async () => {
    const window = await fetchRenewalWindow(`${base}/dir`, 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
    expect(window).toEqual({
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2026-12-03T00:00:00Z'),
    });
    expect(requests).toContain('/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('falls back (undefined) for an unknown certificate or a CA without ARI', async () => {
    expect(await fetchRenewalWindow(`${base}/dir`, 'AAAA.BB')).toBeUndefined();
    offerAri = false;
    expect(await fetchRenewalWindow(`${base}/dir`, 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE')).toBeUndefined();
  });
});
