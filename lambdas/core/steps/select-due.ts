import { randomUUID } from 'node:crypto';
import { ensureAccount } from '../acme/account';
import { InvalidInputError } from '../errors';
import { fetchRenewalWindow } from '../renewal/ari';
import { decideRenewal, type RenewalWindow } from '../renewal/decide';
import type { DueCertificate, RunInput, Selection } from '../state';
import type { StepContext } from './context';

/**
 * SelectDue: validate the run input, register the ACME account once for the whole run (so Map
 * iterations never race to create it), and split the configured certificates into due and
 * skipped (see {@link decideRenewal}).
 */
export async function selectDue(input: RunInput, ctx: StepContext): Promise<Selection> {
  const { config } = ctx;
  const requested = parseRunInput(
    input,
    config.certificates.map((c) => c.name),
  );
  const account = await ensureAccount({
    directoryUrl: config.acme.directoryUrl,
    email: config.acme.email,
    store: ctx.accounts(),
    eab: await ctx.eab(),
    logger: ctx.logger,
  });
  const due: DueCertificate[] = [];
  const skipped: DueCertificate[] = [];
  for (const certificate of config.certificates) {
    if (requested && !requested.includes(certificate.name)) continue;
    const current = await Promise.all(
      ctx
        .stores(certificate)
        .map(async (store) => ({ store: store.kind, metadata: await store.current(certificate.name) })),
    );
    let window: RenewalWindow | undefined;
    const ariCertId = current.find((c) => c.metadata?.ariCertId)?.metadata?.ariCertId;
    if (config.renewal.useAri && ariCertId && !input.force) {
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
      force: input.force === true,
      renewBeforeDays: config.renewal.renewBeforeDays,
      window,
      random: ctx.random,
    });
    (decision.due ? due : skipped).push({ certificate: certificate.name, reason: decision.reason });
  }
  ctx.logger.info('selected certificates', { due, skipped });
  return {
    runId: randomUUID(),
    accountUrl: account.accountUrl as string,
    due,
    skipped,
    timing: config.timing,
  };
}

function parseRunInput(input: RunInput, known: string[]): string[] | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidInputError(
      'run input must be a JSON object such as {"certificates": ["name"], "force": true}',
    );
  }
  if (input.force !== undefined && typeof input.force !== 'boolean') {
    throw new InvalidInputError('run input field "force" must be true or false');
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
