import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../lambdas/core/config/load';
import { ConfigError } from '../../lambdas/core/errors';

const valid = {
  acme: { directory: 'letsencrypt-staging', email: 'ops@example.com', termsOfServiceAgreed: true },
  delegation: { zone: 'acme.example.net', domains: ['example.com'] },
  dns: { provider: 'route53', hostedZoneId: 'Z0123456789ABC' },
  certificates: [{ name: 'example', domains: ['example.com', '*.example.com'] }],
};

function problemsOf(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('accepts a valid config and normalises names and the directory', () => {
    const config = parseConfig({
      ...valid,
      delegation: { zone: 'ACME.example.net.', domains: ['example.com', 'bücher.example'] },
      certificates: [{ name: 'example', domains: ['*.Example.COM', 'Bücher.example'] }],
    });
    expect(config.acme.directoryUrl).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
    expect(config.delegation.zone).toBe('acme.example.net');
    expect(config.certificates[0]).toEqual({
      name: 'example',
      domains: ['*.example.com', 'xn--bcher-kva.example'],
      keyType: 'ecdsa-p256',
      stores: ['secretsmanager'],
      acmRegions: [],
    });
  });

  it('takes compact certificates: a domain name alone, named after it, with certificateDefaults for all', () => {
    const config = parseConfig({
      ...valid,
      certificateDefaults: { stores: ['acm'], acmRegions: ['us-east-1'], keyType: 'ecdsa-p384' },
      certificates: [
        'api.example.com',
        '*.Tenants.example.com',
        'bücher.example.com',
        { name: 'www', domains: ['example.com', 'www.example.com'], keyType: 'rsa-2048' },
      ],
    });
    expect(config.certificates).toEqual([
      {
        name: 'api-example-com',
        domains: ['api.example.com'],
        keyType: 'ecdsa-p384',
        stores: ['acm'],
        acmRegions: ['us-east-1'],
      },
      {
        name: 'wildcard-tenants-example-com',
        domains: ['*.tenants.example.com'],
        keyType: 'ecdsa-p384',
        stores: ['acm'],
        acmRegions: ['us-east-1'],
      },
      {
        name: 'xn--bcher-kva-example-com',
        domains: ['xn--bcher-kva.example.com'],
        keyType: 'ecdsa-p384',
        stores: ['acm'],
        acmRegions: ['us-east-1'],
      },
      // its own keyType wins over the default
      {
        name: 'www',
        domains: ['example.com', 'www.example.com'],
        keyType: 'rsa-2048',
        stores: ['acm'],
        acmRegions: ['us-east-1'],
      },
    ]);
  });

  it('compact certificates: a name too long or not a domain, a derived name taken twice, bad defaults: each said once, with the fix', () => {
    const long = `${'a'.repeat(60)}.example.com`;
    expect(
      problemsOf({
        ...valid,
        certificateDefaults: { keyType: 'rsa-1024', color: 'blue' },
        certificates: [long, 'not a domain', 'a-b.example.com', 'a.b.example.com'],
      }),
    ).toEqual([
      expect.stringMatching(/^certificateDefaults\.keyType: use one of /),
      expect.stringMatching(/^certificateDefaults: .*color/),
      `certificates[0]: "${long}" makes a certificate name longer than 63 characters; write it as {"name": "<short name>", "domains": ["${long}"]}`,
      'certificates[1]: "not a domain" is not a domain name; write a domain name, or {"name": ..., "domains": [...]}',
      'certificates[3].name: "a-b-example-com" is used by two certificates; names must be unique',
    ]);
  });

  it('lists every problem at once, each naming the field and the fix', () => {
    const problems = problemsOf({
      acme: { directory: 'http://ca.example.org/dir', email: 'not-an-email', termsOfServiceAgreed: false },
      delegation: { zone: 'acme.example.net', domains: ['example.com'] },
      dns: { provider: 'rfc2136', server: '127.0.0.1:53', tsig: { name: 'k' } },
      certificates: [
        {
          name: 'Bad Name',
          domains: ['www.other.org', 'a.*.example.com', 'example.com', 'EXAMPLE.com.'],
          keyType: 'rsa-1024',
        },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'acme.directory: must use https:// (plain http is allowed only on loopback), got "http://ca.example.org/dir"',
        'acme.email: must be an email address the CA can write to',
        "acme.termsOfServiceAgreed: must be true: you agree to the CA's terms of service",
        'certificates[0].name: lowercase letters, digits and hyphens, starting with a letter or digit (it names files and secrets)',
        'certificates[0].domains[1]: "a.*.example.com" has a "*" that is not the whole leftmost label; write "*.example.com"',
        'certificates[0].domains[0]: "www.other.org" is not under any delegation.domains entry (example.com); add its domain there and its _acme-challenge CNAME to the primary zone',
        'certificates[0].domains[3]: "EXAMPLE.com." duplicates domains[2]; list each name once',
        'dns.tsig: set secretFile or secretEnv (the TSIG secret never goes in this file)',
      ]),
    );
    expect(problems).toContain(
      'certificates[0].keyType: use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 (ecdsa-p256 is the default)',
    );
    expect(problems).toHaveLength(9);
  });

  it('allows plain http only for loopback directories', () => {
    expect(
      problemsOf({ ...valid, acme: { ...valid.acme, directory: 'http://127.0.0.1:14000/dir' } }),
    ).toEqual([]);
    expect(
      problemsOf({ ...valid, acme: { ...valid.acme, directory: 'http://localhost:14000/dir' } }),
    ).toEqual([]);
  });

  it('refuses more than 100 names, duplicate certificate names and a route53 zone without an id', () => {
    const many = Array.from({ length: 101 }, (_, i) => `h${i}.example.com`);
    const problems = problemsOf({
      ...valid,
      dns: { provider: 'route53' },
      certificates: [
        { name: 'a', domains: many },
        { name: 'a', domains: ['example.com'] },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        "certificates[0].domains: at most 100 names per certificate (RFC 8555 CAs such as Let's Encrypt limit orders to 100)",
        'certificates[1].name: "a" is used by two certificates; names must be unique',
        "dns.hostedZoneId: set the delegated zone's hostedZoneId, or createHostedZone: true",
      ]),
    );
  });

  it('reports an unreadable or non-JSON file by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certflow-config-'));
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ not json');
    expect(() => loadConfigFile(file)).toThrow(
      /broken\.json is invalid \(1 problem\):\n {2}- \(root\): not valid JSON/,
    );
    expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(/cannot read .*missing\.json/);
  });
});
