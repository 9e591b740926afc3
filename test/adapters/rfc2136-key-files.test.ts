import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTsigSecret } from '../../lambdas/adapters/dns/rfc2136/tsig-secret';
import { ConfigError } from '../../lambdas/core/errors';
import { requireProgram } from '../support/dns-process';
import { type PowerDnsDirectory, preparePowerDnsDirectory } from '../support/pdns-fixture';

/**
 * `dns.tsig.secretFile` accepts the key files the servers' own tools write: BIND's tsig-keygen,
 * Knot's keymgr -t, PowerDNS's pdnsutil. Each file here is made by the real tool; the secret
 * certflow reads is compared with the one the tool printed.
 */
describe('TSIG key files as the servers’ tools write them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-keyfiles-'));
  let pdns: PowerDnsDirectory;
  beforeAll(() => {
    pdns = preparePowerDnsDirectory(mkdtempSync(join(dir, 'pdns-')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (program: string, debianPackage: string, args: string[]): string =>
    execFileSync(requireProgram(program, debianPackage), args, { encoding: 'utf8' });
  const save = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  /** The ConfigError a read throws, as the user sees it. */
  const failure = (read: () => unknown): ConfigError => {
    try {
      read();
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('BIND: reads the key clause tsig-keygen prints', () => {
    const text = run('tsig-keygen', 'bind9', ['-a', 'hmac-sha384', 'bind-key']);
    const printed = /secret "([^"]+)"/.exec(text)?.[1];
    const file = save('bind.key', text);
    expect(readTsigSecret({ secretFile: file, name: 'bind-key', algorithm: 'hmac-sha384' })).toBe(printed);
  });

  it('Knot: reads the YAML keymgr -t prints, for each algorithm', () => {
    for (const algorithm of ['hmac-sha256', 'hmac-sha512'] as const) {
      const text = run('keymgr', 'knot', ['-t', 'knot-key', algorithm]);
      const printed = /^\s+secret:\s*(\S+)$/m.exec(text)?.[1];
      const file = save(`knot-${algorithm}.key`, text);
      expect(readTsigSecret({ secretFile: file, name: 'knot-key', algorithm })).toBe(printed);
    }
  });

  it('PowerDNS: reads what pdnsutil generate-tsig-key and list-tsig-keys print', () => {
    const generated = pdns.pdnsutil('generate-tsig-key', 'pdns-key', 'hmac-sha256');
    const printed = /^Create new TSIG key pdns-key hmac-sha256 (\S+)$/m.exec(generated)?.[1];
    expect(printed).toBeDefined();
    const file = save('pdns-generated.key', generated);
    expect(readTsigSecret({ secretFile: file, name: 'pdns-key', algorithm: 'hmac-sha256' })).toBe(printed);

    pdns.pdnsutil('generate-tsig-key', 'other-key', 'hmac-sha512');
    const listed = save('pdns-list.keys', pdns.pdnsutil('list-tsig-keys'));
    // The list holds both keys ("pdns-key. hmac-sha256. …"); dns.tsig.name picks one.
    expect(readTsigSecret({ secretFile: listed, name: 'pdns-key', algorithm: 'hmac-sha256' })).toBe(printed);
    expect(failure(() => readTsigSecret({ secretFile: listed, name: 'missing-key' })).message).toBe(
      `TSIG secret is invalid (1 problem):\n  - dns.tsig.name: is "missing-key" but "${listed}" has no key of that name (it has: other-key, pdns-key); set dns.tsig.name to one of them, or fix the file`,
    );
  });

  it('reads the -y argument of nsupdate and kdig, and a bare base64 secret', () => {
    const secret = /^\s+secret:\s*(\S+)$/m.exec(run('keymgr', 'knot', ['-t', 'y-key']))?.[1] ?? '';
    const triple = save('triple.key', `hmac-sha256:y-key:${secret}\n`);
    expect(readTsigSecret({ secretFile: triple, name: 'y-key', algorithm: 'hmac-sha256' })).toBe(secret);
    const bare = save('bare.key', `${secret}\n`);
    expect(readTsigSecret({ secretFile: bare, name: 'y-key', algorithm: 'hmac-sha256' })).toBe(secret);
  });

  it('says which config field to change when the file names another key or algorithm', () => {
    const text = run('keymgr', 'knot', ['-t', 'knot-key', 'hmac-sha512']);
    const file = save('knot-512.key', text);
    const wrongAlgorithm = failure(() =>
      readTsigSecret({ secretFile: file, name: 'knot-key', algorithm: 'hmac-sha256' }),
    );
    expect(wrongAlgorithm.problems).toEqual([
      {
        path: 'dns.tsig.algorithm',
        message: `is hmac-sha256 but key "knot-key" in "${file}" is hmac-sha512; set dns.tsig.algorithm to "hmac-sha512"`,
      },
    ]);
    const wrongName = failure(() =>
      readTsigSecret({ secretFile: file, name: 'certflow-acme', algorithm: 'hmac-sha512' }),
    );
    expect(wrongName.problems).toEqual([
      {
        path: 'dns.tsig.name',
        message: `is "certflow-acme" but the key in "${file}" is named "knot-key"; set dns.tsig.name to "knot-key" (the name the server knows the key by), or point dns.tsig.secretFile at the key named "certflow-acme"`,
      },
    ]);
    const secret = /^\s+secret:\s*(\S+)$/m.exec(text)?.[1] ?? '';
    for (const error of [wrongAlgorithm, wrongName]) expect(error.message).not.toContain(secret);
  });

  it('refuses an HMAC-MD5 key, which certflow does not sign with, and says what to create', () => {
    const file = save('md5.key', run('tsig-keygen', 'bind9', ['-a', 'hmac-md5', 'old-key']));
    expect(
      failure(() => readTsigSecret({ secretFile: file, name: 'old-key', algorithm: 'hmac-sha256' })).problems,
    ).toEqual([
      {
        path: 'dns.tsig.secretFile',
        message: `key "old-key" in "${file}" uses hmac-md5, which certflow does not sign with; create a key with one of hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha1 (e.g. "tsig-keygen -a hmac-sha256 old-key") and configure it on the server`,
      },
    ]);
  });

  it('lists the formats it reads when a file is none of them', () => {
    const file = save('garbage.key', 'secret = hunter2\n');
    const error = failure(() => readTsigSecret({ secretFile: file, name: 'k' }));
    expect(error.problems).toEqual([
      {
        path: 'dns.tsig.secretFile',
        message: `"${file}" is not a TSIG key certflow can read; use a bare base64 secret, a BIND key clause (tsig-keygen), Knot "keymgr -t" output, or PowerDNS "pdnsutil generate-tsig-key" / "list-tsig-keys" output`,
      },
    ]);
    expect(error.message).not.toContain('hunter2');
  });
});
