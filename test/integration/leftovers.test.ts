import { DnsQueryError } from '../../lambdas/core/errors';
import type { EventLog } from '../../local/execute';
import { leftoverLines, leftoverTxtValues } from '../../local/leftovers';
import { freeTcpPort } from '../support/pebble-fixture';

/**
 * The end-of-run leftover check of local mode: "none remain" is said only after every server
 * answered for every value the run published; a run that published nothing claims no check; and
 * servers that cannot be found or do not answer are named as not checked. (The check against a
 * real BIND, with values present and absent, runs in test/e2e/local-bundled.test.ts and the fault
 * suite.)
 */
describe('leftover TXT check', () => {
  /** A CreateOrder exit as aws-local-stepfunctions logs it, with the records the order needs. */
  const createOrderExited = (records: { fqdn: string; value: string }[]) =>
    ({
      type: 'StateExited',
      timestamp: Date.now(),
      state: { name: 'CreateOrder', type: 'Task', output: { order: { records } } },
    }) as unknown as EventLog;
  const published = [
    createOrderExited([
      { fqdn: 'example.test.acme.certflow.test', value: 'v1' },
      { fqdn: 'example.test.acme.certflow.test', value: 'v2' },
    ]),
  ];

  it('a run that published nothing asks no server and says so, never "none remain"', async () => {
    const servers = jest.fn(async () => [{ host: '127.0.0.1', port: 53 }]);
    const check = await leftoverTxtValues([], servers);
    expect(servers).not.toHaveBeenCalled();
    expect(check).toEqual({ left: [], unchecked: [], checked: [], published: 0, unanswered: [] });
    expect(leftoverLines(check)).toEqual(['delegated zone: this run published no TXT value']);
  });

  it("when the zone's name servers cannot be found, the values are reported as not checked", async () => {
    const check = await leftoverTxtValues(published, async () => {
      throw new DnsQueryError(
        'acme.certflow.test has no NS records at 127.0.0.1:53; delegate the zone or set delegation.nameservers',
      );
    });
    expect(check.published).toBe(2);
    expect(leftoverLines(check)).toEqual([
      "delegated zone: could not check the zone's name servers (acme.certflow.test has no NS records at 127.0.0.1:53; delegate the zone or set delegation.nameservers); values of this run may remain there",
    ]);
  });

  it('a server that does not answer is named as not checked', async () => {
    const port = await freeTcpPort(); // nothing listens there
    const check = await leftoverTxtValues(published, async () => [{ host: '127.0.0.1', port }]);
    expect(check.checked).toEqual([]);
    expect(check.unchecked).toHaveLength(1);
    expect(check.unchecked[0]?.server).toBe(`127.0.0.1:${port}`);
    const lines = leftoverLines(check);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^delegated zone: could not check 127\\.0\\.0\\.1:${port} \\(.+\\); values of this run may remain there$`,
      ),
    );
  });
});
