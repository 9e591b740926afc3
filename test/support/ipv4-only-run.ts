/**
 * One certificate issued by the compiled CLI (`node dist/bin/certflow.js local --external`)
 * inside the network namespace this process runs in (the test starts it under `unshare -n`):
 * BIND on 127.0.0.1:53, whose delegated zone's name server `ns1.acme.certflow.test` has an A
 * record (127.0.0.1) and an AAAA record (`CERTFLOW_TEST_AAAA`), and Pebble validating against
 * that BIND. The configuration names no `delegation.nameservers`: the servers are discovered
 * through the resolver, A and AAAA, as on AWS. Prints one JSON line: the CLI's exit status and
 * output, `openssl verify` of what it stored, and the TXT values left in the delegated zone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startTestBind } from './bind-fixture';
import { opensslVerify } from './certificates';
import { writeExternalConfig } from './external-config';
import { startTestPebble } from './pebble-fixture';

const BIN = resolve(__dirname, '..', '..', 'dist', 'bin', 'certflow.js');

async function main(): Promise<void> {
  const aaaa = process.env.CERTFLOW_TEST_AAAA ?? '2001:db8::53';
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-ipv4-only-'));
  const bind = await startTestBind({
    port: 53,
    delegatedRecords: [`ns1.acme.certflow.test. IN AAAA ${aaaa}`],
  });
  try {
    const pebble = await startTestPebble({ dnsServer: '127.0.0.1:53', env: { PEBBLE_AUTHZREUSE: '0' } });
    try {
      const tsigFile = join(workdir, 'tsig.key');
      writeFileSync(tsigFile, `${bind.tsig.secret}\n`, { mode: 0o600 });
      const config = writeExternalConfig(join(workdir, 'config.json'), {
        dns: bind,
        pebble,
        tsigFile,
        storeDirectory: join(workdir, 'certs'),
        certificates: [{ name: 'www', domains: ['www.example.test'] }],
        extra: {
          // no `nameservers`: found from the zone's NS records and their A and AAAA records
          delegation: { zone: bind.delegatedZone, domains: [bind.primaryZone], resolver: '127.0.0.1:53' },
        },
      });
      const started = Date.now();
      const run = spawnSync(
        process.execPath,
        [BIN, 'local', '--external', '--config', config, '--workdir', workdir],
        { encoding: 'utf8', timeout: 240_000, env: { ...process.env, NODE_OPTIONS: '' } },
      );
      const durationMs = Date.now() - started;
      const root = join(workdir, 'pebble-root.pem');
      writeFileSync(root, await pebble.rootCertificatePem());
      let verify: string;
      try {
        verify = opensslVerify(root, join(workdir, 'certs', 'live', 'www'));
      } catch (error) {
        verify = `verify failed: ${error instanceof Error ? error.message : String(error)}`;
      }
      const zone = await bind.axfrTxt();
      process.stdout.write(
        `${JSON.stringify({ status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr, verify, zone, durationMs })}\n`,
      );
    } finally {
      await pebble.stop();
    }
  } finally {
    await bind.stop();
    rmSync(workdir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
