import { InvalidInputError } from '../../lambdas/core/errors';
import { dryRunDirectoryUrl } from '../../lambdas/core/renewal/dry-run';

describe('the directory a dry run issues from', () => {
  const LE = 'https://acme-v02.api.letsencrypt.org/directory';
  const LE_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

  it("is the CA's staging directory for Let's Encrypt and Google, and a staging or loopback directory itself", () => {
    expect(dryRunDirectoryUrl({ directoryUrl: LE })).toBe(LE_STAGING);
    expect(dryRunDirectoryUrl({ directoryUrl: 'https://dv.acme-v02.api.pki.goog/directory' })).toBe(
      'https://dv.acme-v02.test-api.pki.goog/directory',
    );
    expect(dryRunDirectoryUrl({ directoryUrl: LE_STAGING })).toBe(LE_STAGING);
    expect(dryRunDirectoryUrl({ directoryUrl: 'https://127.0.0.1:14000/dir' })).toBe(
      'https://127.0.0.1:14000/dir',
    );
  });

  it('is acme.dryRunDirectory when set (a name or a URL)', () => {
    expect(dryRunDirectoryUrl({ directoryUrl: LE, dryRunDirectory: 'letsencrypt-staging' })).toBe(LE_STAGING);
    expect(
      dryRunDirectoryUrl({
        directoryUrl: 'https://acme.zerossl.com/v2/DV90',
        dryRunDirectory: 'https://ca.test/dir',
      }),
    ).toBe('https://ca.test/dir');
  });

  it('refuses a production CA with no known staging directory, naming the field to set', () => {
    expect(() => dryRunDirectoryUrl({ directoryUrl: 'https://acme.zerossl.com/v2/DV90' })).toThrow(
      new InvalidInputError(
        'a dry run issues from a test CA, and https://acme.zerossl.com/v2/DV90 has no staging directory certflow knows; set acme.dryRunDirectory to its test directory (or drop --dry-run)',
      ),
    );
  });
});
