import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTsigSecret } from '../../lambdas/adapters/dns/rfc2136/tsig-secret';
import { ConfigError } from '../../lambdas/core/errors';

const SECRET = 'c2VjcmV0LXZhbHVlLWZvci10ZXN0cy0xMjM0NTY3OA==';

describe('readTsigSecret', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'certflow-tsig-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('reads a bare base64 secret from a file', () => {
    expect(readTsigSecret({ secretFile: file('bare', `${SECRET}\n`) })).toBe(SECRET);
  });

  it('reads the secret of a BIND key clause as written by tsig-keygen', () => {
    const clause = `key "certflow-acme" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`;
    expect(readTsigSecret({ secretFile: file('clause', clause) })).toBe(SECRET);
  });

  it('picks the named clause when the file has several, and refuses to guess otherwise', () => {
    const two = `key "a" { algorithm hmac-sha256; secret "${SECRET}"; };\nkey "b" { algorithm hmac-sha256; secret "YmJiYg=="; };\n`;
    const path = file('two', two);
    expect(readTsigSecret({ secretFile: path, name: 'b' })).toBe('YmJiYg==');
    expect(() => readTsigSecret({ secretFile: path })).toThrow(
      `  - dns.tsig.secretFile: "${path}" has 2 keys (a, b); keep one, or set dns.tsig.name to pick one`,
    );
    expect(() => readTsigSecret({ secretFile: path, name: 'c' })).toThrow(
      `  - dns.tsig.name: is "c" but "${path}" has no key of that name (it has: a, b); set dns.tsig.name to one of them, or fix the file`,
    );
  });

  it('reads the secret from the named environment variable', () => {
    expect(readTsigSecret({ secretEnv: 'CERTFLOW_TSIG' }, { CERTFLOW_TSIG: ` ${SECRET} ` })).toBe(SECRET);
  });

  it('names the field and the fix, never the value, when something is wrong', () => {
    const notBase64 = 'this is not base64 at all!';
    const cases: [() => string, RegExp][] = [
      [() => readTsigSecret({ secretFile: join(dir, 'missing') }), /dns\.tsig\.secretFile.*ENOENT/s],
      [() => readTsigSecret({ secretFile: file('bad', notBase64) }), /dns\.tsig\.secretFile.*tsig-keygen/s],
      [() => readTsigSecret({ secretEnv: 'NOPE' }, {}), /dns\.tsig\.secretEnv.*NOPE is not set/s],
      [
        () => readTsigSecret({ secretEnv: 'BAD' }, { BAD: notBase64 }),
        /dns\.tsig\.secretEnv.*not a TSIG key/s,
      ],
      [() => readTsigSecret({}), /dns\.tsig.*secretFile or secretEnv/s],
    ];
    for (const [read, message] of cases) {
      let caught: unknown;
      try {
        read();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain(notBase64);
    }
  });
});
