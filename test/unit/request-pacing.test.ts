import { callIntervalMs, Pacer } from '../../lambdas/core/renewal/request-pacing';

describe('Route 53 request pacing', () => {
  it('shares the rate among the certificates in flight', () => {
    // defaults: 4 certificates per batch, 1 batch at once, 3 of the account's 5 requests/s
    expect(callIntervalMs(3, 4)).toBe(1334);
    expect(callIntervalMs(5, 1)).toBe(200);
    expect(callIntervalMs(3, 40)).toBe(13334);
  });

  it('lets the first call go at once and spaces the next ones, however fast they are asked for', async () => {
    let now = 1_000;
    const slept: number[] = [];
    const pacer = new Pacer(250, {
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    await pacer.next();
    await pacer.next();
    await pacer.next();
    now += 1_000; // a quiet second: the next call goes at once
    await pacer.next();
    expect(slept).toEqual([250, 250]);
  });
});
