/**
 * The CA's new-order rate limit, kept on our side so a first run for a thousand certificates
 * issues what the limit allows and defers the rest to later runs, instead of meeting
 * `rateLimited` (RFC 8555 §6.6) mid-run. Let's Encrypt: "300 New Orders per account per 3 hours"
 * (https://letsencrypt.org/docs/rate-limits/); its staging environment allows 1,500
 * (https://letsencrypt.org/docs/staging-environment/).
 *
 * The budget is a sliding window: at no moment may more than `orders` new orders have been placed
 * in the last `windowSeconds`. A CA's `rateLimited` answer blocks new orders until the time it
 * gave (its Retry-After), and no run asks again before then.
 */

/** A new-order limit: at most `orders` per `windowSeconds`. */
export interface NewOrderLimit {
  orders: number;
  windowSeconds: number;
}

/** What a budget store keeps per ACME account (directory). */
export interface OrderBudgetState {
  /** ISO times of the new orders placed within the window, oldest first. */
  orders: string[];
  /** The CA refused new orders (rateLimited) until this ISO time. */
  blockedUntil?: string;
}

/** The outcome of asking for `wanted` new orders. */
export interface Reservation {
  /** How many of the wanted orders may be placed now (the first ones). */
  granted: number;
  /** For each order not granted, in order: the earliest ISO time it could be placed. */
  deferredUntil: string[];
  /** Why orders were deferred, for reports. */
  reason?: string;
  state: OrderBudgetState;
}

/** The default limit for a known ACME directory URL, or undefined (no limit known: none kept). */
export function defaultNewOrderLimit(directoryUrl: string): NewOrderLimit | undefined {
  if (directoryUrl === 'https://acme-v02.api.letsencrypt.org/directory')
    return { orders: 300, windowSeconds: 3 * 3600 };
  if (directoryUrl === 'https://acme-staging-v02.api.letsencrypt.org/directory') {
    return { orders: 1500, windowSeconds: 3 * 3600 };
  }
  return undefined;
}

function describeLimit(limit: NewOrderLimit): string {
  const hours = limit.windowSeconds / 3600;
  const window = Number.isInteger(hours) ? `${hours} h` : `${limit.windowSeconds / 60} min`;
  return `${limit.orders} new orders per ${window}`;
}

/**
 * Reserve up to `wanted` new orders at `now` under `limit`: the first ones fit, the others are
 * deferred, each to the moment a slot frees for it (an order leaving the window), and not before
 * the CA's block ends. Returns the next state, with the granted orders recorded at `now`.
 */
export function reserveNewOrders(
  state: OrderBudgetState,
  wanted: number,
  now: Date,
  limit: NewOrderLimit,
): Reservation {
  const windowMs = limit.windowSeconds * 1000;
  const inWindow = state.orders
    .map((t) => Date.parse(t))
    .filter((t) => !Number.isNaN(t) && now.getTime() - t < windowMs)
    .sort((a, b) => a - b);
  const blockedUntil = state.blockedUntil ? Date.parse(state.blockedUntil) : Number.NaN;
  const blocked = !Number.isNaN(blockedUntil) && blockedUntil > now.getTime();
  const free = blocked ? 0 : Math.max(0, limit.orders - inWindow.length);
  const granted = Math.min(wanted, free);
  const orders = [...inWindow, ...Array.from({ length: granted }, () => now.getTime())];
  const deferredUntil: string[] = [];
  const overflow = Math.max(0, orders.length - limit.orders);
  const times: number[] = [];
  for (let k = 0; k < wanted - granted; k++) {
    // The k-th deferred order takes the slot the (overflow + k)-th oldest order frees when it
    // leaves the window; beyond those, the slot an earlier deferred order frees a window later.
    const slot = orders[overflow + k];
    let at =
      slot !== undefined
        ? slot + windowMs
        : (times[k - limit.orders] ?? now.getTime()) + (k >= limit.orders ? windowMs : 0);
    if (blocked) at = Math.max(at, blockedUntil);
    times.push(at);
    deferredUntil.push(new Date(at).toISOString());
  }
  const reason =
    wanted > granted
      ? blocked
        ? `the CA refused new orders (rateLimited) until ${new Date(blockedUntil).toISOString()}`
        : `the new-order budget (${describeLimit(limit)}) is used up`
      : undefined;
  return {
    granted,
    deferredUntil,
    ...(reason ? { reason } : {}),
    state: {
      orders: orders.map((t) => new Date(t).toISOString()),
      ...(blocked ? { blockedUntil: new Date(blockedUntil).toISOString() } : {}),
    },
  };
}

/**
 * Reserve `wanted` new orders at `now` where no limit is kept on our side (none configured, none
 * known for the CA): all may go, unless the CA refused new orders (`rateLimited`, RFC 8555 §6.6)
 * until a later time, which holds for every order until then. A block that is over is dropped.
 */
export function honourCaBlock(state: OrderBudgetState, wanted: number, now: Date): Reservation {
  const blockedUntil = state.blockedUntil ? Date.parse(state.blockedUntil) : Number.NaN;
  if (Number.isNaN(blockedUntil) || blockedUntil <= now.getTime()) {
    return { granted: wanted, deferredUntil: [], state: { orders: [] } };
  }
  const until = new Date(blockedUntil).toISOString();
  return {
    granted: 0,
    deferredUntil: Array<string>(wanted).fill(until),
    reason: `the CA refused new orders (rateLimited) until ${until}`,
    state: { orders: [], blockedUntil: until },
  };
}

/** Record a CA block (`rateLimited` until `until`) in the state. */
export function blockNewOrders(state: OrderBudgetState, until: Date): OrderBudgetState {
  const current = state.blockedUntil ? Date.parse(state.blockedUntil) : 0;
  return { ...state, blockedUntil: new Date(Math.max(current, until.getTime())).toISOString() };
}
