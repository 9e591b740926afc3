import * as acme from 'acme-client';
import { loadAccount } from '../acme/account';
import { acmeCall, acmeClient } from '../acme/client';
import { inspectCertificate, privateKeyMatchesCertificate, splitPemChain } from '../certificate/inspect';
import { CertflowError, CertificateStoreError, errorText } from '../errors';
import type { IssuedCertificate, KeyType, StoredLocation } from '../ports';
import type { CertificateItem, IssuedSummary } from '../state';
import { certificateByName, required, type StepContext } from './context';

/** A new private key of the configured type. It never leaves this module's caller. */
export async function createPrivateKey(keyType: KeyType): Promise<Buffer> {
  switch (keyType) {
    case 'ecdsa-p256':
      return acme.crypto.createPrivateEcdsaKey('P-256');
    case 'ecdsa-p384':
      return acme.crypto.createPrivateEcdsaKey('P-384');
    case 'rsa-2048':
      return acme.crypto.createPrivateRsaKey(2048);
    case 'rsa-3072':
      return acme.crypto.createPrivateRsaKey(3072);
    case 'rsa-4096':
      return acme.crypto.createPrivateRsaKey(4096);
  }
}

/**
 * FinalizeAndStore (RFC 8555 §7.4 finalize, §7.4.2 download): new private key, CSR for exactly
 * the configured names, finalize, wait for `valid`, download the chain, check it, and put it in
 * every configured store. The private key exists only here and in the stores; the output holds
 * public facts only.
 */
export async function finalizeAndStore(item: CertificateItem, ctx: StepContext): Promise<IssuedSummary> {
  const cert = certificateByName(ctx.config, item.certificate);
  const orderState = required(item.order, 'order', 'CreateOrder');
  const account = await loadAccount(ctx.accounts(), ctx.config.acme.directoryUrl, orderState.accountUrl);
  const client = acmeClient(account);

  const key = await createPrivateKey(cert.keyType);
  const commonName = cert.domains.find((d) => d.length <= 64);
  const [, csr] = await acme.crypto.createCsr({ commonName, altNames: cert.domains }, key);
  const order = await acmeCall('order', () =>
    client.getOrder({ url: orderState.url } as Parameters<typeof client.getOrder>[0]),
  );
  const finalized = await acmeCall('finalize', () => client.finalizeOrder(order, csr));
  const valid = await acmeCall('order completion', () => client.waitForValidStatus(finalized));
  const fullchainPem = await acmeCall('certificate download', () => client.getCertificate(valid));

  const [leaf, ...intermediates] = splitPemChain(fullchainPem);
  if (!leaf) throw new CertflowError(`the CA returned no certificate for order ${orderState.url}`);
  const info = inspectCertificate(leaf);
  const privateKeyPem = key.toString();
  const wanted = [...cert.domains].sort().join(',');
  if ([...info.domains].sort().join(',') !== wanted) {
    throw new CertflowError(
      `the CA issued names ${info.domains.join(', ')} but ${cert.domains.join(', ')} were ordered`,
    );
  }
  if (!privateKeyMatchesCertificate(privateKeyPem, leaf)) {
    throw new CertflowError('the issued certificate does not match the private key generated for it');
  }
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
  ctx.logger.info('certificate issued and stored', {
    certificate: cert.name,
    serial: info.serial,
    notAfter: info.notAfter,
    locations,
  });
  const { name, domains, keyType, serial, issuer, notBefore, notAfter } = issued.metadata;
  return { certificate: name, domains, keyType, serial, issuer, notBefore, notAfter, locations };
}
