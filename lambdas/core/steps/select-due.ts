import { randomUUID } from 'node:crypto';
import { ensureAccount } from '../acme/account';
import type { CertificateConfig } from '../config/schema';
import { describeError, errorLike, InvalidInputError } from '../errors';
import { certificatesPerBatch } from '../execution-limits';
import {
  alarmedCertificates,
  DIMENSION,
  daysToExpiry,
  type ExpiryReading,
  expiryThresholdDays,
  METRIC,
  recordExpiry,
  soonestHealthy,
} from '../metrics';
import type { CertificateFailure, StoredCertificate } from '../ports';
import { fetchRenewalWindow } from '../renewal/ari';
import { ariCertIdOf, decideRenewal, type RenewalDecision, type RenewalWindow } from '../renewal/decide';
import { dryRunDirectoryUrl } from '../renewal/dry-run';
import { defaultNewOrderLimit, honourCaBlock, reserveNewOrders } from '../renewal/order-budget';
import {
  clip,
  clipReason,
  type DeferredCertificate,
  type DueCertificate,
  listingFor,
  PAYLOAD_BOUNDS,
  type RunInput,
  type Selection,
  SKIPPED_LISTED,
} from '../state';
import type { StepContext } from './context';

/**
 * SelectDue: validate the run input, register the ACME account once for the whole run (so Map
 * iterations never race to create it), and split the configured certificates into due, skipped
 * and failed (see {@link decideRenewal}). Each certificate is decided on its own: a certificate
 * whose stored files or record are broken is due with the store's problem as the reason, and one
 * whose store cannot be consulted at all fails alone (in `failed`, reported by Summarize), never
 * the run.
 *
 * Metrics: DaysToExpiry of every certificate it reads (from store metadata, never a key) and the
 * headroom to its alert threshold (lambdas/core/metrics.ts), the counts due and not due, and a
 * CertificatesFailed (FailedStep SelectDue) for each certificate it could not decide.
 */
export async function selectDue(input: RunInput, ctx: StepContext): Promise<Selection> {
  const { config } = ctx;
  const startedAt = ctx.now();
  const requested = parseRunInput(
    input,
    config.certificates.map((c) => c.name),
  );
  const dryRun = input.dryRun === true;
  const directoryUrl = dryRun ? dryRunDirectoryUrl(config.acme) : config.acme.directoryUrl;
  if (dryRun) ctx.logger.info('dry run: issuing from a test CA, storing nothing', { directoryUrl });
  const account = await ensureAccount({
    directoryUrl,
    email: config.acme.email,
    store: ctx.accounts(),
    eab: await ctx.eab(),
    logger: ctx.logger,
  });
  const due: (DueCertificate & { urgent: boolean })[] = [];
  const skipped: DueCertificate[] = [];
  const failed: CertificateFailure[] = [];
  const readings: ExpiryReading[] = [];
  const { thresholdDays } = config.monitoring.daysToExpiry;
  for (const certificate of config.certificates) {
    if (requested && !requested.includes(certificate.name)) continue;
    try {
      const { decision, stored } = await decide(certificate, input.force === true, ctx);
      if (decision.due) {
        // The full reason is logged; the selection carries it cut short (PAYLOAD_BOUNDS).
        ctx.logger.info('certificate is due', { certificate: certificate.name, reason: decision.reason });
        due.push({
          certificate: certificate.name,
          reason: clipReason(decision.reason),
          urgent: isUrgent(decision.reason),
        });
      } else {
        skipped.push({
          certificate: certificate.name,
          reason: clipReason(decision.reason),
        });
      }
      const soonest = soonestHealthy(stored);
      if (soonest) {
        readings.push({
          certificate: certificate.name,
          days: daysToExpiry(soonest.notAfter, ctx.now()),
          thresholdDays: expiryThresholdDays(soonest, thresholdDays),
        });
      }
    } catch (error) {
      const failure = selectionFailure(certificate.name, error);
      ctx.logger.error('could not decide whether the certificate is due', {
        certificate: certificate.name,
        error: describeError(error),
      });
      failed.push(failure);
    }
  }
  // Expired and broken certificates first, so a short budget goes to those that need it most.
  const ordered = [...due.filter((d) => d.urgent), ...due.filter((d) => !d.urgent)].map(
    ({ certificate, reason }) => ({ certificate, reason }),
  );
  const { placed, deferred, deferredReason } = await applyNewOrderBudget(ordered, directoryUrl, ctx);
  const size = certificatesPerBatch(config.timing);
  const batches: DueCertificate[][] = [];
  for (let i = 0; i < placed.length; i += size) batches.push(placed.slice(i, i + size));
  ctx.logger.info('selected certificates', {
    due: placed.length,
    batches: batches.length,
    batchSize: size,
    deferred: deferred.length,
    skipped: skipped.length,
    failed: failed.length,
  });
  recordSelection(ctx, { due: placed.length, notDue: skipped.length, failed, readings });
  return {
    ...(input.executionId ? { executionId: input.executionId } : {}),
    runId: randomUUID(),
    startedAt: startedAt.toISOString(),
    directoryUrl,
    dryRun,
    accountUrl: account.accountUrl as string,
    batches,
    dueCount: placed.length,
    listing: listingFor(batches.length),
    skipped: skipped.slice(0, SKIPPED_LISTED),
    skippedCount: skipped.length,
    deferred,
    ...(deferredReason ? { deferredReason } : {}),
    failed,
    timing: config.timing,
  };
}

/** Expired or broken: renew before anything merely due. */
function isUrgent(reason: string): boolean {
  return /^(expired|stored certificate is broken|not issued yet|missing from)/.test(reason);
}

/**
 * The CA's new-order limit (lambdas/core/renewal/order-budget.ts): the due certificates that
 * fit are placed now, the rest deferred with the earliest time each may go; the reservation is
 * recorded per ACME directory before any order is placed.
 */
async function applyNewOrderBudget(
  due: DueCertificate[],
  directoryUrl: string,
  ctx: StepContext,
): Promise<{ placed: DueCertificate[]; deferred: DeferredCertificate[]; deferredReason?: string }> {
  const { config } = ctx;
  const configured = config.renewal.newOrderLimit;
  const limit =
    configured === false
      ? undefined
      : configured
        ? { orders: configured.orders, windowSeconds: configured.windowMinutes * 60 }
        : defaultNewOrderLimit(directoryUrl);
  if (due.length === 0) return { placed: due, deferred: [] };
  const now = ctx.now();
  // Without a limit of our own, a CA's rateLimited block (recorded by CreateOrder) still holds:
  // no order is placed before the CA's time.
  const reservation = await ctx.orderBudget().update(directoryUrl, (state) => {
    const r = limit ? reserveNewOrders(state, due.length, now, limit) : honourCaBlock(state, due.length, now);
    return { state: r.state, result: r };
  });
  const deferred = due.slice(reservation.granted).map((d, i) => ({
    certificate: d.certificate,
    until: reservation.deferredUntil[i] as string,
  }));
  if (deferred.length > 0) {
    ctx.logger.warn('deferred certificates to a later run (new-order budget)', {
      deferred: deferred.length,
      earliest: deferred[0]?.until,
      reason: reservation.reason,
    });
  }
  return {
    placed: due.slice(0, reservation.granted),
    deferred,
    ...(deferred.length > 0
      ? {
          deferredReason: clip(reservation.reason ?? 'new-order budget used up', PAYLOAD_BOUNDS.messageChars),
        }
      : {}),
  };
}

/** The selection's metrics (see {@link selectDue}). */
function recordSelection(
  ctx: StepContext,
  run: { due: number; notDue: number; failed: CertificateFailure[]; readings: ExpiryReading[] },
): void {
  const { daysToExpiry: expiry } = ctx.config.monitoring;
  const alarmed = new Set(
    expiry.enabled
      ? alarmedCertificates(ctx.config.certificates, expiry.perCertificateAlarms).map((c) => c.name)
      : [],
  );
  recordExpiry(ctx.metrics, run.readings, alarmed);
  ctx.metrics.add(METRIC.due, 'Count', run.due);
  ctx.metrics.add(METRIC.notDue, 'Count', run.notDue);
  for (const f of run.failed) {
    ctx.metrics.add(METRIC.failed, 'Count', 1, { [DIMENSION.failedStep]: 'SelectDue' });
    ctx.metrics.add(METRIC.failed, 'Count', 1, { [DIMENSION.certificate]: f.certificate });
    ctx.metrics.add(METRIC.failed, 'Count', 1);
  }
}

/** Read every store of one certificate and decide; throws when a store cannot be consulted. */
async function decide(
  certificate: CertificateConfig,
  force: boolean,
  ctx: StepContext,
): Promise<{ decision: RenewalDecision; stored: StoredCertificate[] }> {
  const { config } = ctx;
  const current = await Promise.all(
    ctx
      .stores(certificate)
      .map(async (store) => ({ store: store.kind, stored: await store.current(certificate.name) })),
  );
  for (const { store, stored } of current) {
    if (stored.status === 'broken') {
      ctx.logger.warn('stored certificate is broken; it will be re-issued', {
        certificate: certificate.name,
        store,
        problem: stored.problem,
      });
    }
  }
  let window: RenewalWindow | undefined;
  const ariCertId = ariCertIdOf(current);
  if (config.renewal.useAri && ariCertId && !force) {
    window = await fetchRenewalWindow(config.acme.directoryUrl, ariCertId).catch((error: unknown) => {
      ctx.logger.warn('ARI lookup failed; using the lifetime threshold', {
        certificate: certificate.name,
        error,
      });
      return undefined;
    });
  }
  const decision = decideRenewal({
    certificate,
    current,
    now: ctx.now(),
    force,
    renewBeforeDays: config.renewal.renewBeforeDays,
    window,
    random: ctx.random,
  });
  return { decision, stored: current.map((c) => c.stored) };
}

/** A certificate that could not be decided, as Summarize reports it (step SelectDue). */
function selectionFailure(certificate: string, error: unknown): CertificateFailure {
  const name = errorLike(error)?.name ?? 'Error';
  const line = describeError(error);
  const message = line.startsWith(`${name}: `) ? line.slice(name.length + 2) : line;
  return { certificate, step: 'SelectDue', error: name, message };
}

function parseRunInput(input: RunInput, known: string[]): string[] | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidInputError(
      'run input must be a JSON object such as {"certificates": ["name"], "force": true}',
    );
  }
  if (input.executionId !== undefined && typeof input.executionId !== 'string') {
    throw new InvalidInputError('run input field "executionId" must be the execution ARN ($$.Execution.Id)');
  }
  if (input.force !== undefined && typeof input.force !== 'boolean') {
    throw new InvalidInputError('run input field "force" must be true or false');
  }
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') {
    throw new InvalidInputError('run input field "dryRun" must be true or false');
  }
  if (input.certificates === undefined) return undefined;
  if (!Array.isArray(input.certificates) || input.certificates.some((c) => typeof c !== 'string')) {
    throw new InvalidInputError('run input field "certificates" must be an array of certificate names');
  }
  const unknown = input.certificates.filter((c) => !known.includes(c));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `run input field "certificates" names unknown certificate(s) ${unknown.join(', ')}; configured: ${known.join(', ')}`,
    );
  }
  return input.certificates;
}
