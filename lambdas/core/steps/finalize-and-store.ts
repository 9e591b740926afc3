import { loadAccount } from '../acme/account';
import type { AcmeClient, AcmeOrder } from '../acme/api';
import { acmeClient } from '../acme/client';
import { isProblemType } from '../acme/problem';
import { withProblem } from '../ca-problem';
import { createCsr } from '../certificate/csr';
import { inspectCertificate, splitPemChain } from '../certificate/inspect';
import { createPrivateKeyPem } from '../certificate/keys';
import { trustAnchorsFor } from '../certificate/trust-anchors';
import { certificateChainProblems } from '../certificate/verify';
import {
  AcmeProblemError,
  AcmeRequestError,
  CertificateChainError,
  CertificateStoreError,
  errorText,
  OrderInvalidError,
  PendingKeyStoreError,
} from '../errors';
import { DIMENSION, expiryThresholdDays, METRIC } from '../metrics';
import type { IssuedCertificate, PendingKeyStore, StoredLocation } from '../ports';
import type { CertificateItem, IssuedSummary } from '../state';
import { certificateByName, required, runDirectoryUrl, type StepContext } from './context';

/** Order polls after finalizing before giving up this attempt (a retry resumes). */
const MAX_ORDER_POLLS = 20;

/**
 * FinalizeAndStore (RFC 8555 §7.4 finalize, §7.4.2 download), safe to run more than once for
 * one order: the private key is made and kept in the {@link PendingKeyStore} before the order is
 * finalized, so a repeated attempt reuses it; an order already `processing` or `valid` is not
 * finalized again but polled and downloaded; and stores keep a certificate they already hold
 * (same serial) unchanged. The CSR names exactly the configured names.
 *
 * The pending key is kept after success, until the certificate's next order replaces it: an
 * attempt repeated after a success whose answer was lost (a timeout) then finds it, downloads the
 * same certificate and stores nothing new. It is the stored certificate's own key, under the
 * same protection. An order found `invalid` clears it. The private key exists only here and in
 * the stores; the output holds public facts only.
 */
export async function finalizeAndStore(item: CertificateItem, ctx: StepContext): Promise<IssuedSummary> {
  const cert = certificateByName(ctx.config, item.certificate);
  const orderState = required(item.order, 'order', 'CreateOrder');
  const orderUrl = orderState.url;
  const account = await loadAccount(ctx.accounts(), runDirectoryUrl(ctx, orderState), orderState.accountUrl);
  const client = acmeClient(account);
  // A dry run keeps the order's key in memory only: nothing it makes outlives the invocation.
  const pendingKeys = item.dryRun === true ? inMemoryPendingKeys() : ctx.pendingKeys();

  let order = await client.order(orderUrl);
  let privateKeyPem = await pendingKeys.load(cert.name, orderUrl);
  if (order.status === 'ready') {
    if (privateKeyPem === undefined) {
      privateKeyPem = await createPrivateKeyPem(cert.keyType);
      await pendingKeys.save(cert.name, orderUrl, privateKeyPem);
    } else {
      ctx.logger.info('reusing the key made for this order by an earlier attempt', {
        certificate: cert.name,
        order: orderUrl,
      });
    }
    order = await finalizeOnce(client, orderUrl, order, createCsr(privateKeyPem, cert.domains));
  } else if (order.status === 'processing' || order.status === 'valid') {
    ctx.logger.info('order already finalized by an earlier attempt; downloading its certificate', {
      certificate: cert.name,
      order: orderUrl,
      status: order.status,
    });
  } else {
    // Best effort: the order's own error is the one to report.
    if (order.status === 'invalid') await pendingKeys.clear(cert.name).catch(() => undefined);
    throw orderNotFinalizable(orderUrl, order);
  }
  if (privateKeyPem === undefined) {
    throw new PendingKeyStoreError(
      `order ${orderUrl} for ${cert.name} was finalized by an earlier attempt, but the private key made for it is not in the pending-key store; the certificate cannot be used without it, so the next run places a new order`,
    );
  }
  if (order.status === 'processing') {
    order = await client.waitForOrder(orderUrl, { while: ['processing'], maxPolls: MAX_ORDER_POLLS });
  }
  if (order.status === 'processing') {
    throw new AcmeRequestError(
      `ACME finalize: order ${orderUrl} is still "processing" after ${MAX_ORDER_POLLS} checks; a retry resumes it with the same key`,
    );
  }
  if (order.status !== 'valid' || !order.certificate) {
    if (order.status === 'invalid') await pendingKeys.clear(cert.name).catch(() => undefined);
    throw orderNotFinalizable(orderUrl, order);
  }
  const fullchainPem = await client.certificate(order.certificate);

  // Verify before any store is written (and before a dry run says "issued"): one check for
  // every store, local or AWS.
  const { leaf, intermediates } = await verifiedAnswer(ctx, {
    certificate: cert.name,
    domains: cert.domains,
    orderUrl,
    directoryUrl: runDirectoryUrl(ctx, orderState),
    fullchainPem,
    privateKeyPem,
  });
  const info = inspectCertificate(leaf);
  const issued: IssuedCertificate = {
    metadata: {
      name: cert.name,
      domains: cert.domains,
      keyType: cert.keyType,
      serial: info.serial,
      issuer: info.issuer,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      ariCertId: info.ariCertId,
      storedAt: ctx.now().toISOString(),
    },
    certificatePem: `${leaf.trim()}\n`,
    chainPem: intermediates.map((c) => `${c.trim()}\n`).join(''),
    fullchainPem: [leaf, ...intermediates].map((c) => `${c.trim()}\n`).join(''),
    privateKeyPem,
  };
  if (item.dryRun === true) {
    ctx.logger.info('dry run: certificate issued and checked, stored nowhere', {
      certificate: cert.name,
      serial: info.serial,
      issuer: info.issuer,
      notAfter: info.notAfter,
    });
    const { name, domains, keyType, serial, issuer, notBefore, notAfter } = issued.metadata;
    return {
      certificate: name,
      domains,
      keyType,
      serial,
      issuer,
      notBefore,
      notAfter,
      locations: [],
      dryRun: true,
    };
  }
  const locations: StoredLocation[] = [];
  for (const store of ctx.stores(cert)) {
    try {
      locations.push(await store.put(issued));
    } catch (cause) {
      // The store's own message says what failed (OS code and path, service error) and what it left.
      const done = locations.map((l) => l.store).join(', ') || 'none';
      throw new CertificateStoreError(
        `storing ${cert.name} in ${store.kind} failed (already stored in: ${done}): ${errorText(cause)}`,
        { cause },
      );
    }
  }
  await putStoreExpiryAlarms(ctx, issued, locations);
  ctx.metrics.add(METRIC.issued, 'Count', 1, { [DIMENSION.certificate]: cert.name });
  ctx.metrics.add(METRIC.issued, 'Count', 1);
  ctx.logger.info('certificate issued and stored', {
    certificate: cert.name,
    serial: info.serial,
    notAfter: info.notAfter,
    locations,
  });
  const { name, domains, keyType, serial, issuer, notBefore, notAfter } = issued.metadata;
  return { certificate: name, domains, keyType, serial, issuer, notBefore, notAfter, locations };
}

/**
 * The CA's answer split into leaf and intermediates, once it passed every check of
 * {@link certificateChainProblems}: whole PEM blocks, the order's key and names, a non-empty
 * chain each certificate of which is signed by the next, and the trust anchors when known. An
 * answer that fails is kept for inspection (the {@link StepContext.rejectedCertificates} store,
 * else the log, base64-encoded) and not stored.
 * @throws CertificateChainError naming each failed check and where the answer was kept.
 */
async function verifiedAnswer(
  ctx: StepContext,
  answer: {
    certificate: string;
    domains: string[];
    orderUrl: string;
    directoryUrl: string;
    fullchainPem: string;
    privateKeyPem: string;
  },
): Promise<{ leaf: string; intermediates: string[] }> {
  const trustAnchors = trustAnchorsFor(ctx.config, answer.directoryUrl);
  let blocks: string[] = [];
  let problems: { check: string; message: string }[];
  try {
    blocks = splitPemChain(answer.fullchainPem);
    const [leaf = '', ...intermediates] = blocks;
    problems = certificateChainProblems({
      leafPem: leaf,
      chainPem: intermediates.join(''),
      key: answer.privateKeyPem,
      domains: answer.domains,
      trustAnchors,
      labels: { leaf: "the CA's certificate", chain: "the CA's chain" },
    });
  } catch (error) {
    problems = [{ check: 'format', message: `the CA's answer: ${errorText(error)}` }];
  }
  if (problems.length === 0) {
    const [leaf, ...intermediates] = blocks as [string, ...string[]];
    return { leaf, intermediates };
  }
  const problem = problems.map((p) => `${p.check}: ${p.message}`).join('; ');
  let keptAt: string;
  try {
    const store = ctx.rejectedCertificates?.();
    if (store) {
      keptAt = await store.keep({
        certificate: answer.certificate,
        orderUrl: answer.orderUrl,
        answer: answer.fullchainPem,
        problem,
      });
    } else {
      ctx.logger.error("the CA's answer failed verification; it is kept in this log line", {
        certificate: answer.certificate,
        order: answer.orderUrl,
        problem,
        caAnswerBase64: Buffer.from(answer.fullchainPem, 'utf8').toString('base64'),
      });
      keptAt = "the function's log (caAnswerBase64)";
    }
  } catch (error) {
    keptAt = `nowhere (keeping it failed: ${errorText(error)})`;
  }
  throw new CertificateChainError(
    problems.map((p, i) =>
      i === problems.length - 1
        ? {
            ...p,
            message: `${p.message}. Nothing was stored; the previous certificate stays. The CA's answer for order ${answer.orderUrl} is kept in ${keptAt}`,
          }
        : p,
    ),
  );
}

/**
 * For copies in ACM: an alarm on ACM's own DaysToExpiry metric (the `ExpiryAlarms` port), which
 * fires even if certflow never runs again. Best effort: the
 * certificate is stored, so a failure here is a warning, never the step's failure.
 */
export async function putStoreExpiryAlarms(
  ctx: StepContext,
  issued: IssuedCertificate,
  locations: StoredLocation[],
): Promise<void> {
  const { acmDaysToExpiry, daysToExpiry } = ctx.config.monitoring;
  if (!acmDaysToExpiry.enabled) return;
  for (const location of locations.filter((l) => l.store === 'acm')) {
    try {
      const alarms = await ctx.expiryAlarms().ensure({
        certificate: issued.metadata.name,
        location,
        thresholdDays: expiryThresholdDays(issued.metadata, daysToExpiry.thresholdDays),
      });
      if (alarms.length > 0) {
        ctx.logger.info('ACM expiry alarm in place', { certificate: issued.metadata.name, alarms });
      }
    } catch (error) {
      ctx.logger.warn(
        "could not put the alarm on ACM's DaysToExpiry; the certificate is stored, and the pipeline's own expiry alarms still watch it",
        { certificate: issued.metadata.name, error: errorText(error) },
      );
    }
  }
}

/**
 * §7.4 finalize. When the CA answers `orderNotReady` because an earlier attempt's finalize did
 * reach it (the order is `processing` or `valid` now), continue with that order instead.
 */
async function finalizeOnce(
  client: AcmeClient,
  orderUrl: string,
  order: AcmeOrder,
  csr: Buffer,
): Promise<AcmeOrder> {
  try {
    return await client.finalize(order, csr);
  } catch (error) {
    if (!(error instanceof AcmeProblemError) || !isProblemType(error.problem, 'orderNotReady')) {
      throw error;
    }
    const now = await client.order(orderUrl);
    if (now.status === 'processing' || now.status === 'valid') return now;
    throw error;
  }
}

function orderNotFinalizable(orderUrl: string, order: AcmeOrder): OrderInvalidError {
  const problem = order.error;
  return new OrderInvalidError(
    ((text) => (problem ? withProblem(`${text}: ${problem.detail ?? ''}`, problem) : text))(
      `order ${orderUrl} is "${order.status}"${order.status === 'valid' ? ' without a certificate URL' : ''}, so it cannot be finalized`,
    ),
    problem,
  );
}

/** The pending-key port without persistence (a dry run stores nothing, keys included). */
function inMemoryPendingKeys(): PendingKeyStore {
  const keys = new Map<string, { orderUrl: string; keyPem: string }>();
  return {
    async load(name, orderUrl) {
      const kept = keys.get(name);
      return kept?.orderUrl === orderUrl ? kept.keyPem : undefined;
    },
    async save(name, orderUrl, keyPem) {
      keys.set(name, { orderUrl, keyPem });
    },
    async clear(name) {
      keys.delete(name);
    },
  };
}
