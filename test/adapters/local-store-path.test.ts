import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localStoreProblems } from '../../lambdas/adapters/store/local-directory/store-path';
import { parseConfig } from '../../lambdas/core/config/load';
import { giveToUnprivileged, runCliUnprivileged, unprivilegedUid } from '../support/unprivileged';

/** A valid configuration whose local store is `localDirectory`. */
const raw = (localDirectory: string) => ({
  acme: { directory: 'letsencrypt-staging', email: 'ops@example.com', termsOfServiceAgreed: true },
  delegation: { zone: 'acme.example.net', domains: ['example.com'] },
  dns: { provider: 'route53', createHostedZone: true },
  storage: { localDirectory, defaultStores: ['local'] },
  certificates: [{ name: 'www', domains: ['www.example.com'] }],
});
const problemsFor = (localDirectory: string) => localStoreProblems(parseConfig(raw(localDirectory)));

/** `certflow validate` checks the local store directory on the real file system, changing nothing. */
describe('localStoreProblems (validate)', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'certflow-store-path-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('accepts an existing directory, and a missing one under a writable directory, creating nothing', () => {
    expect(problemsFor(base)).toEqual([]);
    expect(problemsFor(join(base, 'a', 'b', 'certs'))).toEqual([]);
    expect(problemsFor(join(base, 'relative-check', '..', 'certs'))).toEqual([]);
    // no side effects
    expect(() => mkdirSync(join(base, 'a'))).not.toThrow();
  });

  it('names the regular file a store directory would have to be created under (ENOTDIR)', () => {
    const blocker = join(base, 'blocker');
    writeFileSync(blocker, '');
    expect(problemsFor(join(blocker, 'certs', 'deeper'))).toEqual([
      {
        path: 'storage.localDirectory',
        message: `${join(blocker, 'certs', 'deeper')} cannot be created: ${blocker} is a regular file (ENOTDIR); point storage.localDirectory elsewhere or move ${blocker} away`,
      },
    ]);
    expect(problemsFor(blocker)).toEqual([
      {
        path: 'storage.localDirectory',
        message: `${blocker} is a regular file; point storage.localDirectory at a directory`,
      },
    ]);
  });

  it('refuses /proc and /sys, also through a symlink', () => {
    expect(problemsFor('/proc/certflow/certs')[0]?.message).toBe(
      '/proc/certflow/certs is under /proc, a kernel pseudo-filesystem that cannot hold certificate files; choose a directory on a disk, such as /etc/letsencrypt or /var/lib/certflow',
    );
    expect(problemsFor('/sys/certflow')[0]?.message).toMatch(/^\/sys\/certflow is under \/sys, /);
    const link = join(base, 'proc-link');
    symlinkSync('/proc', link);
    expect(problemsFor(join(link, 'certs'))[0]?.message).toBe(
      `${join(link, 'certs')} (which resolves to /proc) is under /proc, a kernel pseudo-filesystem that cannot hold certificate files; choose a directory on a disk, such as /etc/letsencrypt or /var/lib/certflow`,
    );
  });

  it('refuses live/ or archive/ that are not directories', () => {
    writeFileSync(join(base, 'live'), '');
    expect(problemsFor(base)).toEqual([
      {
        path: 'storage.localDirectory',
        message: `${join(base, 'live')} is not a directory (ENOTDIR); move it away`,
      },
    ]);
  });

  it(`reports a directory this user cannot write to, with EACCES (validate run as uid ${unprivilegedUid})`, async () => {
    // Tests run as root, which passes access(2): the CLI runs as an unprivileged user instead.
    chmodSync(base, 0o755);
    const home = join(base, 'home');
    mkdirSync(home);
    const store = join(base, 'certs');
    mkdirSync(store, { mode: 0o555 });
    chmodSync(store, 0o555);
    const config = join(home, 'certflow.json');
    writeFileSync(config, JSON.stringify(raw(join(store, 'sub'))));
    giveToUnprivileged(home, config);

    const result = await runCliUnprivileged(['validate', '--target', 'local', '-c', config], home);

    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `${config} is invalid (1 problem):\n  - storage.localDirectory: ${join(store, 'sub')} cannot be created: ${store} is not writable by this user (uid ${unprivilegedUid}): EACCES: permission denied, access '${store}'\n`,
    );
  });
});
