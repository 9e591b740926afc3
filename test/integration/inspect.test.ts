import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  inspectCertificate,
  privateKeyMatchesCertificate,
  splitPemChain,
} from '../../lambdas/core/certificate/inspect';
import { InvalidInputError } from '../../lambdas/core/errors';

let dir: string;

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function read(file: string): string {
  return readFileSync(join(dir, file), 'utf8');
}

/** A key and self-signed certificate made by `openssl req -x509` with the given -newkey arguments. */
function selfSigned(prefix: string, newkey: string[]): { cert: string; key: string } {
  openssl(
    'req',
    '-x509',
    ...newkey,
    '-nodes',
    '-keyout',
    `${prefix}.key`,
    '-out',
    `${prefix}.pem`,
    '-subj',
    `/CN=${prefix}`,
    '-days',
    '1',
  );
  return { cert: read(`${prefix}.pem`), key: read(`${prefix}.key`) };
}

/** The openssl view of a certificate, to cross-check against. */
function opensslFacts(file: string): { serial: string; notAfter: string; sans: string[] } {
  const out = openssl('x509', '-in', file, '-noout', '-serial', '-enddate', '-ext', 'subjectAltName');
  const serial = /serial=([0-9A-F]+)/.exec(out)?.[1] ?? '';
  const enddate = /notAfter=(.+)/.exec(out)?.[1] ?? '';
  const sanLine = /Subject Alternative Name:\s*\n\s*(.+)/.exec(out)?.[1] ?? '';
  const sans = sanLine
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return { serial, notAfter: new Date(enddate).toISOString(), sans };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'certflow-inspect-'));
  // The CA and leaf of the RFC 9773 §4.1 example: AKI keyIdentifier 69:88:5B:..., serial 0x87654321.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/O=Certflow Test/CN=Certflow Test CA',
    '-days',
    '3',
    '-addext',
    'subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4',
  );
  openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    '/CN=www.Example.com',
  );
  writeFileSync(
    join(dir, 'leaf.ext'),
    'subjectAltName=DNS:www.Example.com,DNS:*.example.com,IP:127.0.0.1,email:ops@example.com\n' +
      'authorityKeyIdentifier=keyid\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '0x87654321',
    '-days',
    '2',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf.pem',
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('inspectCertificate', () => {
  it('reads serial, validity and SANs exactly as openssl reports them', () => {
    const facts = inspectCertificate(read('leaf.pem'));
    const expected = opensslFacts('leaf.pem');
    expect(facts.serial).toBe(expected.serial.toLowerCase());
    expect(facts.serial).toBe('87654321');
    expect(facts.notAfter).toBe(expected.notAfter);
    expect(facts.domains).toEqual(expected.sans.map((s) => s.toLowerCase()));
    expect(facts.domains).toEqual(['www.example.com', '*.example.com']);
    expect(Date.parse(facts.notBefore)).toBeLessThanOrEqual(Date.now());
  });

  it('reports the issuer and subject common names', () => {
    const facts = inspectCertificate(read('leaf.pem'));
    expect(facts.issuer).toBe('Certflow Test CA');
    expect(facts.subject).toBe('www.Example.com');
  });

  it('computes the RFC 9773 §4.1 CertID of the RFC example (serial with a leading zero octet)', () => {
    expect(inspectCertificate(read('leaf.pem')).ariCertId).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('inspects the first certificate of a full chain', () => {
    const fullchain = `${read('leaf.pem')}${read('ca.pem')}`;
    expect(inspectCertificate(fullchain).serial).toBe('87654321');
  });

  it('recognises every key type certflow issues, and reports others as "other"', () => {
    const cases: [string, string[], string][] = [
      ['p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ecdsa-p256'],
      ['p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ecdsa-p384'],
      ['p521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'], 'other'],
      ['rsa2048', ['-newkey', 'rsa:2048'], 'rsa-2048'],
      ['rsa3072', ['-newkey', 'rsa:3072'], 'rsa-3072'],
      ['rsa4096', ['-newkey', 'rsa:4096'], 'rsa-4096'],
      ['ed25519', ['-newkey', 'ed25519'], 'other'],
    ];
    for (const [prefix, newkey, keyType] of cases) {
      const { cert } = selfSigned(prefix, newkey);
      const facts = inspectCertificate(cert);
      expect({ prefix, keyType: facts.keyType }).toEqual({ prefix, keyType });
      // No SAN extension: no domains; self-signed: issuer is the subject.
      expect(facts.domains).toEqual([]);
      expect(facts.issuer).toBe(prefix);
    }
  });

  it('has no ARI CertID when the certificate has no Authority Key Identifier', () => {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'noaki.key',
      '-out',
      'noaki.pem',
      '-subj',
      '/O=No CN here',
      '-days',
      '1',
      '-addext',
      'authorityKeyIdentifier=none',
      '-addext',
      'subjectKeyIdentifier=none',
    );
    const facts = inspectCertificate(read('noaki.pem'));
    expect(facts.ariCertId).toBeUndefined();
    // Without a CN, the whole DN is reported.
    expect(facts.issuer).toBe('O=No CN here');
  });

  it('rejects input without a certificate, or with a corrupt one', () => {
    expect(() => inspectCertificate('hello')).toThrow(InvalidInputError);
    const corrupt = '-----BEGIN CERTIFICATE-----\nTUlJQ2dvQUFB\n-----END CERTIFICATE-----\n';
    expect(() => inspectCertificate(corrupt)).toThrow(InvalidInputError);
  });
});

describe('splitPemChain', () => {
  it('returns the certificate blocks in order, ignoring text and other blocks', () => {
    const leaf = read('leaf.pem').trim();
    const ca = read('ca.pem').trim();
    const bundle = `subject=leaf\r\n${leaf.replace(/\n/g, '\r\n')}\r\n${read('leaf.key')}issuer\n${ca}`;
    const blocks = splitPemChain(bundle);
    expect(blocks).toEqual([`${leaf}\n`, `${ca}\n`]);
    expect(inspectCertificate(blocks[1] ?? '').subject).toBe('Certflow Test CA');
  });

  it('returns nothing for text without certificates', () => {
    expect(splitPemChain('')).toEqual([]);
  });
});

describe('privateKeyMatchesCertificate', () => {
  it('accepts the key of the certificate and rejects another key', () => {
    expect(privateKeyMatchesCertificate(read('leaf.key'), read('leaf.pem'))).toBe(true);
    expect(privateKeyMatchesCertificate(read('ca.key'), read('ca.pem'))).toBe(true);
    expect(privateKeyMatchesCertificate(read('ca.key'), read('leaf.pem'))).toBe(false);
  });

  it('compares RSA keys too', () => {
    const a = selfSigned('rsa-a', ['-newkey', 'rsa:2048']);
    const b = selfSigned('rsa-b', ['-newkey', 'rsa:2048']);
    expect(privateKeyMatchesCertificate(a.key, a.cert)).toBe(true);
    expect(privateKeyMatchesCertificate(b.key, a.cert)).toBe(false);
  });

  it('treats an unparsable key as not matching, without echoing it', () => {
    expect(privateKeyMatchesCertificate('not a key', read('leaf.pem'))).toBe(false);
  });

  it('rejects a missing certificate', () => {
    expect(() => privateKeyMatchesCertificate(read('leaf.key'), '')).toThrow(InvalidInputError);
  });
});
