import {
  type Change,
  ChangeResourceRecordSetsCommand,
  type ChangeResourceRecordSetsCommandInput,
  type ChangeResourceRecordSetsCommandOutput,
  GetChangeCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandInput,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Route53Provider } from '../../lambdas/adapters/dns/route53/route53-provider';
import { DnsProviderError, DnsProviderThrottledError } from '../../lambdas/core/errors';
import {
  accessDenied,
  changeResourceRecordSetsResponse,
  DOCUMENTED_TXT_VALUES,
  getChangeResponse,
  invalidChangeBatch,
  listResourceRecordSetsResponse,
  priorRequestNotComplete,
  quotedTxt,
  throttlingError,
  throttlingException,
  txtRecordSet,
} from '../fixtures/aws/route53';

const ZONE = 'acme.example.net';
const ZONE_ID = 'Z0123456789ABC';
const NAME = `example-com.${ZONE}`;
const APEX_VALUE = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const WILDCARD_VALUE = 'CiHEcv3ATq2Z3N3pHOdH3oZ6vtqXCeXm2vaVzBCpFZc';
const OTHER_ORDER_VALUE = 'q9cMYbM2e1kBfeSKj2C8wb0Cy8qPqaPj8CvJi1ZJ7Ek';

const route53 = mockClient(Route53Client);

function provider(
  overrides: Partial<ConstructorParameters<typeof Route53Provider>[0]> = {},
): Route53Provider {
  return new Route53Provider({
    client: new Route53Client({ region: 'us-east-1' }),
    hostedZoneId: ZONE_ID,
    zone: ZONE,
    baseDelayMs: 1,
    ...overrides,
  });
}

// Responses come from AWS's published examples (test/fixtures/aws/route53.ts names each source).
const quoted = quotedTxt;
const txtSet = (name: string, values: string[], ttl = 60): ResourceRecordSet =>
  txtRecordSet(name, values.map(quoted), ttl);
const changeInfo = (id: string) => changeResourceRecordSetsResponse({ id });
const listed = (sets: ResourceRecordSet[]) => listResourceRecordSetsResponse(sets);

/** The change batches the provider sent, in order. */
function sentBatches(): Change[][] {
  return route53
    .commandCalls(ChangeResourceRecordSetsCommand)
    .map((call) => call.args[0].input.ChangeBatch?.Changes ?? []);
}

/**
 * An in-memory hosted zone with Route 53's change-batch semantics (atomic batch; DELETE must
 * match the current set exactly; CREATE fails when a set exists) and the IAM conditions from the
 * README (TXT only, CREATE/DELETE only, names below the zone), so concurrent writers really race.
 */
class FakeHostedZone {
  readonly sets = new Map<string, ResourceRecordSet>();
  private changeCount = 0;
  private gate: { waiting: number; release: () => void; opened: Promise<void> } | undefined;

  /** Hold the next `readers` ListResourceRecordSets calls until all of them have arrived. */
  holdReads(readers: number): void {
    let release = (): void => {};
    const opened = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.gate = { waiting: readers, release, opened };
  }

  async list(input: ListResourceRecordSetsCommandInput): Promise<ListResourceRecordSetsCommandOutput> {
    const gate = this.gate;
    if (gate) {
      gate.waiting -= 1;
      if (gate.waiting === 0) {
        this.gate = undefined;
        gate.release();
      }
      await gate.opened;
    }
    const start = input.StartRecordName ?? '';
    const sets = [...this.sets.keys()]
      .sort()
      .filter((name) => name >= start)
      .slice(0, input.MaxItems ?? 100)
      .map((name) => structuredClone(this.sets.get(name) as ResourceRecordSet));
    return { ...listResourceRecordSetsResponse(sets, input.MaxItems), $metadata: {} };
  }

  async change(input: ChangeResourceRecordSetsCommandInput): Promise<ChangeResourceRecordSetsCommandOutput> {
    if (input.HostedZoneId !== ZONE_ID) throw new Error(`wrong zone ${input.HostedZoneId}`);
    const next = new Map(this.sets);
    for (const change of input.ChangeBatch?.Changes ?? []) {
      const set = change.ResourceRecordSet as ResourceRecordSet;
      const name = String(set.Name);
      if (change.Action !== 'CREATE' && change.Action !== 'DELETE') throw accessDenied();
      if (set.Type !== 'TXT') throw accessDenied();
      if (!name.endsWith(`.${ZONE}.`)) throw accessDenied();
      const current = next.get(name);
      if (change.Action === 'DELETE') {
        if (!current) {
          throw invalidChangeBatch(
            `Tried to delete resource record set [name='${name}', type='TXT'] but it was not found`,
          );
        }
        if (!sameSet(current, set)) {
          throw invalidChangeBatch(
            `Tried to delete resource record set [name='${name}', type='TXT'] but the values provided do not match the current values`,
          );
        }
        next.delete(name);
      } else {
        if (current) {
          throw invalidChangeBatch(
            `Tried to create resource record set [name='${name}', type='TXT'] but it already exists`,
          );
        }
        next.set(name, structuredClone(set));
      }
    }
    this.sets.clear();
    for (const [k, v] of next) this.sets.set(k, v);
    this.changeCount += 1;
    return { ...changeInfo(`/change/C${this.changeCount}`), $metadata: {} };
  }

  values(name: string): string[] {
    return (this.sets.get(`${name}.`)?.ResourceRecords ?? []).map((r) => String(r.Value)).sort();
  }
}

function sameSet(a: ResourceRecordSet, b: ResourceRecordSet): boolean {
  const values = (s: ResourceRecordSet) => (s.ResourceRecords ?? []).map((r) => String(r.Value)).sort();
  return a.TTL === b.TTL && JSON.stringify(values(a)) === JSON.stringify(values(b));
}

function useFakeZone(): FakeHostedZone {
  const zone = new FakeHostedZone();
  route53.on(ListResourceRecordSetsCommand).callsFake((input) => zone.list(input));
  route53.on(ChangeResourceRecordSetsCommand).callsFake((input) => zone.change(input));
  return zone;
}

beforeEach(() => route53.reset());

describe('Route53Provider: publishing', () => {
  it('puts the apex and wildcard values for one name into one CREATE, and returns the change id', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves(listed([]));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('/change/C1'));

    const tokens = await provider().addTxtValues([
      { fqdn: NAME, value: APEX_VALUE },
      { fqdn: `${NAME.toUpperCase()}.`, value: WILDCARD_VALUE },
    ]);

    expect(tokens).toEqual(['/change/C1']);
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    expect(route53).toHaveReceivedCommandWith(ListResourceRecordSetsCommand, {
      HostedZoneId: ZONE_ID,
      StartRecordName: `${NAME}.`,
      StartRecordType: 'TXT',
    });
    expect(sentBatches()).toEqual([
      [{ Action: 'CREATE', ResourceRecordSet: txtSet(NAME, [APEX_VALUE, WILDCARD_VALUE]) }],
    ]);
  });

  it("merges with another order's value already there: DELETE exactly what was read, CREATE both", async () => {
    const existing = txtSet(NAME, [OTHER_ORDER_VALUE], 300);
    // Route 53 lists from the start name onwards; the next name must not be mistaken for ours.
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves(listed([existing, txtSet(`www.${NAME}`, ['unrelated'])]));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('/change/C2'));

    await provider().addTxtValues([{ fqdn: NAME, value: APEX_VALUE }]);

    expect(sentBatches()).toEqual([
      [
        { Action: 'DELETE', ResourceRecordSet: existing },
        { Action: 'CREATE', ResourceRecordSet: txtSet(NAME, [OTHER_ORDER_VALUE, APEX_VALUE]) },
      ],
    ]);
  });

  it('writes nothing and returns no token when every value is already there (idempotent retry)', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves(listed([txtSet(NAME, [APEX_VALUE])]));

    await expect(provider().addTxtValues([{ fqdn: NAME, value: APEX_VALUE }])).resolves.toEqual([]);
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it("keeps the developer guide's escaped TXT values byte-for-byte, and sees a value it wrote through the escapes", async () => {
    // Values exactly as the Route 53 developer guide shows them for the API (quoted, \" and \351).
    const documented = Object.values(DOCUMENTED_TXT_VALUES);
    const foreign = txtRecordSet(NAME, documented);
    route53.on(ListResourceRecordSetsCommand).resolves(listed([foreign]));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('/change/C3'));

    await provider().addTxtValues([{ fqdn: NAME, value: APEX_VALUE }]);
    // The documented "v=spf1 ..." value, unquoted, is already there: nothing to write.
    await provider().addTxtValues([{ fqdn: NAME, value: 'v=spf1 ip4:192.168.0.1/16 -all' }]);

    const batches = sentBatches();
    expect(batches).toHaveLength(1);
    expect(batches[0]).toEqual([
      { Action: 'DELETE', ResourceRecordSet: foreign },
      {
        Action: 'CREATE',
        ResourceRecordSet: txtRecordSet(NAME, [...documented, quoted(APEX_VALUE)]),
      },
    ]);
  });

  it('uses only CREATE and DELETE on TXT records below the zone (what the IAM policy allows)', async () => {
    const zone = useFakeZone();
    const p = provider();
    await p.addTxtValues([{ fqdn: NAME, value: APEX_VALUE }]);
    await p.addTxtValues([{ fqdn: NAME, value: WILDCARD_VALUE }]);
    await p.removeTxtValues([{ fqdn: NAME, value: APEX_VALUE }]);
    await p.removeTxtValues([{ fqdn: NAME, value: WILDCARD_VALUE }]);

    const changes = sentBatches().flat();
    expect(changes.length).toBeGreaterThan(0);
    for (const change of changes) {
      expect(['CREATE', 'DELETE']).toContain(change.Action);
      expect(change.ResourceRecordSet?.Type).toBe('TXT');
      expect(change.ResourceRecordSet?.Name?.endsWith(`.${ZONE}.`)).toBe(true);
    }
    expect(zone.sets.size).toBe(0);
  });

  it.each([
    ['the zone apex', ZONE],
    ['a name in another zone', '_acme-challenge.example.com'],
    ['a look-alike zone', `x.evil${ZONE}`],
  ])('refuses %s before any API call', async (_what, fqdn) => {
    const error = await provider()
      .addTxtValues([{ fqdn, value: APEX_VALUE }])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DnsProviderError);
    expect((error as Error).message).toMatch(/^route53: /);
    expect((error as Error).message).toContain(ZONE);
    expect(route53.calls()).toHaveLength(0);
  });

  it('rejects bad options with a route53-prefixed error', () => {
    expect(() => provider({ hostedZoneId: 'not-a-zone' })).toThrow(/^route53: hostedZoneId/);
    expect(() => provider({ zone: '' })).toThrow(/^route53: zone/);
    expect(() => provider({ ttl: 0 })).toThrow(/^route53: ttl/);
    expect(provider({ hostedZoneId: `/hostedzone/${ZONE_ID}` }).name).toBe('route53');
  });
});

describe('Route53Provider: concurrent orders on one name', () => {
  it("retries a rejected compare-and-swap with the other order's value included", async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(listed([]))
      .resolvesOnce(listed([txtSet(NAME, [OTHER_ORDER_VALUE])]));
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(
        invalidChangeBatch(
          `Tried to create resource record set [name='${NAME}.', type='TXT'] but it already exists`,
        ),
      )
      .resolves(changeInfo('/change/C9'));

    const tokens = await provider().addTxtValues([{ fqdn: NAME, value: APEX_VALUE }]);

    expect(tokens).toEqual(['/change/C9']);
    expect(route53).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 2);
    expect(sentBatches()).toEqual([
      [{ Action: 'CREATE', ResourceRecordSet: txtSet(NAME, [APEX_VALUE]) }],
      [
        { Action: 'DELETE', ResourceRecordSet: txtSet(NAME, [OTHER_ORDER_VALUE]) },
        { Action: 'CREATE', ResourceRecordSet: txtSet(NAME, [OTHER_ORDER_VALUE, APEX_VALUE]) },
      ],
    ]);
  });

  it('two executions publishing the same name at once both end up in the zone', async () => {
    const zone = useFakeZone();
    zone.holdReads(2); // both read the (empty) name before either writes

    await Promise.all([
      provider().addTxtValues([{ fqdn: NAME, value: APEX_VALUE }]),
      provider().addTxtValues([{ fqdn: NAME, value: OTHER_ORDER_VALUE }]),
    ]);

    expect(zone.values(NAME)).toEqual([quoted(APEX_VALUE), quoted(OTHER_ORDER_VALUE)].sort());
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 3);
  });

  it("cleanup racing another order's publication never drops the other order's value", async () => {
    const zone = useFakeZone();
    await provider().addTxtValues([
      { fqdn: NAME, value: APEX_VALUE },
      { fqdn: NAME, value: WILDCARD_VALUE },
    ]);
    zone.holdReads(2);

    await Promise.all([
      provider().removeTxtValues([
        { fqdn: NAME, value: APEX_VALUE },
        { fqdn: NAME, value: WILDCARD_VALUE },
      ]),
      provider().addTxtValues([{ fqdn: NAME, value: OTHER_ORDER_VALUE }]),
    ]);

    expect(zone.values(NAME)).toEqual([quoted(OTHER_ORDER_VALUE)]);
  });

  it('gives up after maxAttempts when the set keeps changing, with Route 53 messages kept', async () => {
    const message = `Tried to delete resource record set [name='${NAME}.', type='TXT'] but the values provided do not match the current values`;
    route53.on(ListResourceRecordSetsCommand).resolves(listed([txtSet(NAME, [OTHER_ORDER_VALUE])]));
    route53.on(ChangeResourceRecordSetsCommand).rejects(invalidChangeBatch(message));

    const error = await provider({ maxAttempts: 3 })
      .addTxtValues([{ fqdn: NAME, value: APEX_VALUE }])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DnsProviderError);
    expect(error).not.toBeInstanceOf(DnsProviderThrottledError);
    expect((error as Error).message).toContain('ChangeResourceRecordSets');
    expect((error as Error).message).toContain('do not match the current values');
    expect((error as Error).cause).toBeInstanceOf(InvalidChangeBatch);
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 3);
  });
});

describe('Route53Provider: cleanup', () => {
  it("removes only this order's values and keeps the other order's", async () => {
    const current = txtSet(NAME, [APEX_VALUE, OTHER_ORDER_VALUE, WILDCARD_VALUE]);
    route53.on(ListResourceRecordSetsCommand).resolves(listed([current]));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('/change/C4'));

    await provider().removeTxtValues([
      { fqdn: NAME, value: APEX_VALUE },
      { fqdn: NAME, value: WILDCARD_VALUE },
    ]);

    expect(sentBatches()).toEqual([
      [
        { Action: 'DELETE', ResourceRecordSet: current },
        { Action: 'CREATE', ResourceRecordSet: txtSet(NAME, [OTHER_ORDER_VALUE]) },
      ],
    ]);
  });

  it('deletes the record set when its last value goes', async () => {
    const current = txtSet(NAME, [APEX_VALUE], 120);
    route53.on(ListResourceRecordSetsCommand).resolves(listed([current]));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('/change/C5'));

    await provider().removeTxtValues([{ fqdn: NAME, value: APEX_VALUE }]);

    expect(sentBatches()).toEqual([[{ Action: 'DELETE', ResourceRecordSet: current }]]);
  });

  it('is a no-op when the values are already gone', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves(listed([txtSet(NAME, [OTHER_ORDER_VALUE])]));

    await provider().removeTxtValues([{ fqdn: NAME, value: APEX_VALUE }]);

    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });
});

describe('Route53Provider: change status', () => {
  it('reports a change applied only once GetChange says INSYNC', async () => {
    route53
      .on(GetChangeCommand, { Id: '/change/C7' })
      .resolvesOnce(getChangeResponse('PENDING', '/change/C7'))
      .resolvesOnce(getChangeResponse('INSYNC', '/change/C7'));
    const p = provider();

    await expect(p.isChangeApplied('/change/C7')).resolves.toBe(false);
    await expect(p.isChangeApplied('/change/C7')).resolves.toBe(true);
    expect(route53).toHaveReceivedCommandTimes(GetChangeCommand, 2);
  });

  it('refuses a token that is not a change id', async () => {
    await expect(provider().isChangeApplied('../../etc')).rejects.toThrow(DnsProviderError);
    expect(route53.calls()).toHaveLength(0);
  });
});

describe('Route53Provider: pacing within the account request rate', () => {
  // Jest's fake clock: the times the calls reach the SDK are the pacer's own, not those of a
  // loaded machine (where the SDK's middleware may take longer for one call than the next).
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());
  /** Run `work` with every timer it sets fired as soon as nothing else is pending. */
  const settled = async <T>(work: Promise<T>): Promise<T> => {
    work.catch(() => undefined); // awaited below, after the timers ran
    await jest.runAllTimersAsync();
    return work;
  };

  it('spaces every call (retries included) at least minIntervalMs apart', async () => {
    const at: number[] = [];
    const zone = useFakeZone();
    route53.on(ListResourceRecordSetsCommand).callsFake((input) => {
      at.push(Date.now());
      return zone.list(input);
    });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .callsFakeOnce(() => {
        at.push(Date.now());
        throw throttlingError();
      })
      .callsFake((input) => {
        at.push(Date.now());
        return zone.change(input);
      });
    const fqdns = ['a', 'b', 'c'].map((l) => `${l}.${ZONE}`);
    await settled(
      provider({ minIntervalMs: 100 }).addTxtValues(fqdns.map((fqdn) => ({ fqdn, value: APEX_VALUE }))),
    );
    // three reads, one throttled change and its retry
    expect(at).toHaveLength(5);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(100);
  });

  it('without minIntervalMs, calls go at once', async () => {
    useFakeZone();
    const started = Date.now();
    const fqdns = ['a', 'b', 'c', 'd', 'e'].map((l) => `${l}.${ZONE}`);
    await settled(provider().addTxtValues(fqdns.map((fqdn) => ({ fqdn, value: APEX_VALUE }))));
    // on the fake clock: no call waited at all (paced, four would have waited 400 ms)
    expect(Date.now() - started).toBe(0);
  });
});

describe('Route53Provider: throttling and errors', () => {
  it('retries throttled calls with backoff and then succeeds', async () => {
    route53.on(ListResourceRecordSetsCommand).rejectsOnce(priorRequestNotComplete()).resolves(listed([]));
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(throttlingError())
      .rejectsOnce(throttlingError())
      .resolves(changeInfo('/change/C8'));

    await expect(provider().addTxtValues([{ fqdn: NAME, value: APEX_VALUE }])).resolves.toEqual([
      '/change/C8',
    ]);
    expect(route53).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 2);
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 3);
  });

  it('gives up with DnsProviderThrottledError after maxAttempts, keeping the cause', async () => {
    const throttled = throttlingException();
    route53.on(GetChangeCommand).rejects(throttled);

    const error = await provider({ maxAttempts: 4 })
      .isChangeApplied('/change/C1')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DnsProviderThrottledError);
    expect((error as Error).name).toBe('DnsProviderThrottledError');
    expect((error as Error).message).toMatch(/^route53: GetChange in zone acme\.example\.net/);
    expect((error as Error).cause).toBe(throttled);
    expect(route53).toHaveReceivedCommandTimes(GetChangeCommand, 4);
  });

  it('translates other errors at once into DnsProviderError naming the operation and zone', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves(listed([]));
    const denied = accessDenied();
    route53.on(ChangeResourceRecordSetsCommand).rejects(denied);

    const error = await provider()
      .addTxtValues([{ fqdn: NAME, value: APEX_VALUE }])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DnsProviderError);
    expect(error).not.toBeInstanceOf(DnsProviderThrottledError);
    expect((error as Error).name).toBe('DnsProviderError');
    expect((error as Error).message).toContain('ChangeResourceRecordSets');
    expect((error as Error).message).toContain(`${ZONE} (${ZONE_ID})`);
    expect((error as Error).message).toContain('AccessDeniedException');
    expect((error as Error).cause).toBe(denied);
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
  });
});
