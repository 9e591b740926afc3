import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The network a Lambda function outside a VPC runs in has no IPv6 route. AWS Lambda API
 * Reference, VpcConfig: "Ipv6AllowedForDualStack — Allows outbound IPv6 traffic on VPC functions
 * that are connected to dual-stack subnets." (https://docs.aws.amazon.com/lambda/latest/dg/API_VpcConfig.html):
 * outbound IPv6 is a setting of VPC functions only; and AWS Compute Blog, "AWS Lambda networking
 * over IPv6": "Previously, AWS Lambda only supported inbound and outbound connectivity over IPv4"
 * (https://aws.amazon.com/blogs/compute/aws-lambda-networking-over-ipv6), its dual-stack support
 * being for functions attached to a VPC. certflow's functions are not attached to a VPC.
 *
 * Modelled here with a private network namespace (`unshare -n`, loopback up): once with IPv6
 * disabled (`net.ipv6.conf.all.disable_ipv6=1`: every IPv6 connect fails EADDRNOTAVAIL) and once
 * with IPv6 on but no route beyond loopback (ENETUNREACH, as on Lambda). Inside it, BIND on
 * 127.0.0.1:53 serves the delegated zone, whose name server has an A and an AAAA record; the
 * configuration names no `delegation.nameservers`, so propagation is checked at the addresses
 * discovered from the zone's NS records, A and AAAA, as on AWS. The compiled CLI issues one
 * certificate there (test/support/ipv4-only-run.ts starts the servers and the CLI). Needs root
 * (CI runs as root) and `npm run build`.
 */
const ROOT = resolve(__dirname, '..', '..');

interface NamespaceRun {
  status: number | null;
  stdout: string;
  stderr: string;
  verify: string;
  zone: unknown[];
  durationMs: number;
}

function runInNamespace(setup: string, aaaa: string): NamespaceRun {
  const result = spawnSync(
    'unshare',
    [
      '-n',
      'bash',
      '-c',
      `set -e; ip link set lo up; ${setup} exec "${process.execPath}" --require tsx/cjs --import tsx/esm test/support/ipv4-only-run.ts`,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 280_000, env: { ...process.env, CERTFLOW_TEST_AAAA: aaaa } },
  );
  if (result.status !== 0) {
    throw new Error(`the namespace run failed (${result.status}): ${result.stderr}\n${result.stdout}`);
  }
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as NamespaceRun;
}

describe('issuing where the functions run: an IPv4-only network', () => {
  it('IPv6 disabled, the name server has an A and an AAAA record: ISSUED, exit 0, the AAAA address left out and named (never an ERR_SOCKET_BAD_PORT crash), the certificate verifies, no TXT value left', () => {
    const run = runInNamespace('sysctl -qw net.ipv6.conf.all.disable_ipv6=1;', '2001:db8::53');
    expect(run.stderr).not.toMatch(/ERR_SOCKET_BAD_PORT|RangeError/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('ISSUED   www');
    expect(run.stdout).toMatch(
      /www\s+CheckPropagation\s+ok\s+\d+ ms {2}visible at every authoritative server \(check \d+\); left out \[2001:db8::53\]:53: this host cannot reach IPv6 addresses \(connect EADDRNOTAVAIL/,
    );
    expect(run.stdout).toContain(
      'delegated zone: no TXT value of this run remains (checked at 127.0.0.1:53; left out [2001:db8::53]:53: this host cannot reach IPv6 addresses)',
    );
    expect(run.verify).toMatch(/cert\.pem: OK$/);
    expect(run.zone).toEqual([]);
  }, 300_000);

  it('IPv6 on but unrouted (as on Lambda): the AAAA address fails at once with ENETUNREACH and is left out; the step does not wait out its checks', () => {
    const run = runInNamespace('', '2001:db8::53');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('ISSUED   www');
    expect(run.stdout).toMatch(
      /www\s+CheckPropagation\s+ok\s+\d+ ms {2}visible at every authoritative server \(check 1\); left out \[2001:db8::53\]:53: this host cannot reach IPv6 addresses \(connect ENETUNREACH/,
    );
    expect(run.verify).toMatch(/cert\.pem: OK$/);
    expect(run.zone).toEqual([]);
  }, 300_000);
});
