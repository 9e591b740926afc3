import {
  type ACMClient,
  AddTagsToCertificateCommand,
  type CertificateDetail,
  type CertificateSummary,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  type KeyAlgorithm,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RemoveTagsFromCertificateCommand,
  type Tag,
} from '@aws-sdk/client-acm';
import { ACM_KEY_TYPES } from '../../../core/config/schema';
import { CertificateStoreError, errorMessage } from '../../../core/errors';
import type {
  CertificateMetadata,
  CertificateStore,
  IssuedCertificate,
  KeyType,
  StoredCertificate,
  StoredLocation,
} from '../../../core/ports';
import { errorNameOf } from '../../aws/retry';
import { ACM_ARI_TAG, ACM_CERTIFICATE_TAG, ACM_DEPLOYMENT_TAG } from './acm-tags';

export { ACM_ARI_TAG, ACM_CERTIFICATE_TAG, ACM_DEPLOYMENT_TAG } from './acm-tags';

/** Options of {@link AcmCertificateStore}. */
export interface AcmCertificateStoreOptions {
  /** Returns the ACM client for a region; the caller creates each once per cold start. */
  clientFor: (region: string) => ACMClient;
  /** Regions to import into, home region first (e.g. add us-east-1 for CloudFront). */
  regions: string[];
  /**
   * The deployment this store belongs to (its secret name prefix), written as the
   * {@link ACM_DEPLOYMENT_TAG} tag on the first import and required on the certificate found for
   * a re-import: two deployments in one account never take each other's certificates, and the
   * deployment's IAM policy (lib/iam.ts) may import, re-import and tag only certificates that
   * carry it. Unset: the tag is neither written nor required.
   */
  deployment?: string;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** certflow key type ↔ ACM KeyAlgorithm. */
const KEY_ALGORITHMS: Record<KeyType, KeyAlgorithm> = {
  'ecdsa-p256': 'EC_prime256v1',
  'ecdsa-p384': 'EC_secp384r1',
  'rsa-2048': 'RSA_2048',
  'rsa-3072': 'RSA_3072',
  'rsa-4096': 'RSA_4096',
};
/** Every ACM key algorithm: ListCertificates returns only RSA_1024 and RSA_2048 unless asked. */
export const ALL_KEY_ALGORITHMS: KeyAlgorithm[] = [
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1',
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
];

/**
 * The certflow key type of an ACM key algorithm, in either of ACM's two spellings: the request
 * enum (`ListCertificates` `Includes.keyTypes`, the SDK's `KeyAlgorithm` type) uses an underscore,
 * `EC_prime256v1` / `RSA_2048`, while `DescribeCertificate` (and `ListCertificates` output)
 * report a hyphen, `EC-prime256v1` / `RSA-2048` (AWS CLI `describe-certificate` example).
 * Undefined for algorithms certflow does not issue (RSA 1024, EC P-521) or an absent value.
 */
export function keyTypeOfAcmAlgorithm(algorithm: string | undefined): KeyType | undefined {
  if (typeof algorithm !== 'string') return undefined;
  const canonical = algorithm.trim().replace(/-/g, '_');
  return (Object.keys(KEY_ALGORITHMS) as KeyType[]).find((k) => KEY_ALGORITHMS[k] === canonical);
}

/** The ACM certificate found for a certflow certificate in one region. */
interface Existing {
  arn: string;
  keyAlgorithm: string | undefined;
  tags: Tag[];
}

/**
 * Certificates imported into AWS Certificate Manager, in one or more regions.
 *
 * The ACM certificate of a certflow certificate is the imported one tagged
 * `certflow:certificate=<name>` and `certflow:deployment=<deployment>` (found with
 * ListCertificates + ListTagsForCertificate on every call; nothing is cached). `put` re-imports to that ARN (`ImportCertificate` with
 * `CertificateArn`), so CloudFront distributions and load balancers using it pick up the new
 * certificate without any change; the first import creates it with the tags. ACM keeps no
 * previous version: the re-import replaces the certificate atomically or not at all.
 */
export class AcmCertificateStore implements CertificateStore {
  readonly kind = 'acm';
  private readonly clientFor: (region: string) => ACMClient;
  private readonly regions: string[];
  private readonly home: string;
  private readonly deployment: string | undefined;

  constructor(options: AcmCertificateStoreOptions) {
    if (typeof options.clientFor !== 'function') {
      throw new CertificateStoreError('acm: clientFor must return an ACM client for a region');
    }
    const regions = Array.isArray(options.regions) ? [...new Set(options.regions)] : [];
    const [home] = regions;
    if (home === undefined)
      throw new CertificateStoreError('acm: list at least one region (home region first)');
    for (const region of regions) {
      if (typeof region !== 'string' || !REGION.test(region)) {
        throw new CertificateStoreError(`acm: "${String(region)}" is not an AWS region such as "us-east-1"`);
      }
    }
    if (
      options.deployment !== undefined &&
      (typeof options.deployment !== 'string' || options.deployment === '')
    ) {
      throw new CertificateStoreError('acm: deployment must be a non-empty string (the secret name prefix)');
    }
    this.clientFor = options.clientFor;
    this.regions = regions;
    this.home = home;
    this.deployment = options.deployment;
  }

  /**
   * The certificate as ACM holds it, from ListCertificates, ListTagsForCertificate and
   * DescribeCertificate in every region (never the private key): `absent` when it was imported
   * nowhere; `broken` when ACM reports it other than ISSUED (expired, revoked, inactive...), its
   * key algorithm is not one certflow issues, its `certflow:ariCertId` tag belongs to another
   * serial (re-imported outside certflow), or a region lacks it or holds another serial; else
   * `healthy` with the home region's description (validity, serial, names, key algorithm,
   * issuer; the RFC 9773 CertID from its tag).
   * @throws CertificateStoreError when an ACM call fails.
   */
  async current(name: string): Promise<StoredCertificate> {
    const found: { region: string; existing: Existing; detail: CertificateDetail | undefined }[] = [];
    for (const region of this.regions) {
      const existing = await this.find(region, name, []);
      if (!existing) continue;
      const detail = await this.call(region, 'DescribeCertificate', name, async () => {
        const res = await this.clientFor(region).send(
          new DescribeCertificateCommand({ CertificateArn: existing.arn }),
        );
        return res.Certificate;
      });
      found.push({ region, existing, detail });
    }
    if (found.length === 0) return { status: 'absent' };
    const home = found.find((f) => f.region === this.home);
    if (!home) {
      return {
        status: 'broken',
        problem: `not imported in the home region ${this.home} (imported in ${found.map((f) => f.region).join(', ')})`,
      };
    }
    const problems: string[] = [];
    const metadata = home.detail ? toMetadata(name, home.detail, home.existing.tags) : undefined;
    if (!home.detail)
      problems.push(`DescribeCertificate in ${this.home} returned nothing for ${home.existing.arn}`);
    else if (!metadata) {
      problems.push(
        `${home.existing.arn} in ${this.home} has key algorithm ${home.detail.KeyAlgorithm ?? 'unknown'} or no validity dates; certflow issues ${Object.values(KEY_ALGORITHMS).join(', ')}`,
      );
    }
    for (const { region, existing, detail } of found) {
      if (detail?.Status !== undefined && detail.Status !== 'ISSUED') {
        const why = detail.RevocationReason ? ` (${detail.RevocationReason})` : '';
        problems.push(`ACM reports ${existing.arn} in ${region} as ${detail.Status}${why}`);
      }
      if (
        region !== this.home &&
        home.detail &&
        detail &&
        serialHex(detail.Serial) !== serialHex(home.detail.Serial)
      ) {
        problems.push(
          `${region} holds serial ${serialHex(detail.Serial)} but ${this.home} holds ${serialHex(home.detail.Serial)}`,
        );
      }
    }
    for (const region of this.regions) {
      if (!found.some((f) => f.region === region)) problems.push(`not imported in ${region}`);
    }
    const ari = home.existing.tags.find((t) => t.Key === ACM_ARI_TAG)?.Value;
    if (ari && home.detail) {
      const tagged = serialOfCertId(ari);
      const actual = serialHex(home.detail.Serial);
      if (tagged !== undefined && tagged !== actual) {
        problems.push(
          `the ${ACM_ARI_TAG} tag of ${home.existing.arn} is for serial ${tagged}, but ACM holds serial ${actual} (re-imported outside certflow?)`,
        );
      }
    }
    if (problems.length > 0)
      return { status: 'broken', problem: problems.join('; '), ...(metadata ? { metadata } : {}) };
    return { status: 'healthy', metadata: metadata as CertificateMetadata };
  }

  /**
   * Import into every region: re-import to the existing ARN where there is one, else import a
   * new certificate with the `certflow:certificate` tag. Refuses, before importing anywhere, key
   * types ACM cannot import and key-type changes ACM cannot re-import.
   */
  async put(certificate: IssuedCertificate): Promise<StoredLocation> {
    const { metadata } = certificate;
    const name = metadata.name;
    if (!ACM_KEY_TYPES.includes(metadata.keyType)) {
      throw new CertificateStoreError(
        `acm: ACM cannot import certificate "${name}" with a ${metadata.keyType} key; set its keyType to one of ${ACM_KEY_TYPES.join(', ')}, or remove "acm" from its stores`,
      );
    }
    const plans: { region: string; existing: Existing | undefined }[] = [];
    for (const region of this.regions) {
      const existing = await this.find(region, name, metadata.domains);
      if (existing && !sameKeyAlgorithm(existing.keyAlgorithm, metadata.keyType)) {
        throw new CertificateStoreError(
          `acm: certificate "${name}" changed key type to ${metadata.keyType}, but ACM cannot re-import ${existing.arn} (${existing.keyAlgorithm}) with another key type; set keyType back, or remove the ${ACM_CERTIFICATE_TAG} tag from that certificate so a new one is imported (then point its users at the new ARN). Nothing was imported`,
        );
      }
      plans.push({ region, existing });
    }

    const arns: string[] = [];
    for (const { region, existing } of plans) {
      const done =
        arns.length > 0 ? ` (already imported in ${this.regions.slice(0, arns.length).join(', ')})` : '';
      arns.push(await this.importInto(region, certificate, existing, done));
    }
    return { store: this.kind, location: arns.join(', ') };
  }

  private async importInto(
    region: string,
    certificate: IssuedCertificate,
    existing: Existing | undefined,
    done: string,
  ): Promise<string> {
    const { metadata } = certificate;
    const client = this.clientFor(region);
    const ari = metadata.ariCertId;
    const pem = (text: string): Uint8Array => Buffer.from(text, 'utf8');
    const body = {
      Certificate: pem(certificate.certificatePem),
      PrivateKey: pem(certificate.privateKeyPem),
      ...(certificate.chainPem.trim() === '' ? {} : { CertificateChain: pem(certificate.chainPem) }),
    };
    if (!existing) {
      // The deployment tag goes with the import itself: the IAM policy allows a new import only
      // with it in the request (aws:RequestTag), and a later re-import only on a certificate that
      // carries it (aws:ResourceTag); ACM refuses tags on a re-import, so they are set here.
      const tags: Tag[] = [{ Key: ACM_CERTIFICATE_TAG, Value: metadata.name }];
      if (this.deployment !== undefined) tags.push({ Key: ACM_DEPLOYMENT_TAG, Value: this.deployment });
      if (ari) tags.push({ Key: ACM_ARI_TAG, Value: ari });
      const res = await this.call(
        region,
        'ImportCertificate',
        metadata.name,
        () => client.send(new ImportCertificateCommand({ ...body, Tags: tags })),
        done,
      );
      if (!res.CertificateArn) {
        throw new CertificateStoreError(
          `acm: ImportCertificate in ${region} returned no ARN for "${metadata.name}"`,
        );
      }
      return res.CertificateArn;
    }
    // Re-import keeps the ARN; ACM refuses tags on re-import, so the CertID tag is updated after.
    await this.call(
      region,
      'ImportCertificate',
      metadata.name,
      () => client.send(new ImportCertificateCommand({ ...body, CertificateArn: existing.arn })),
      done,
    );
    const old = existing.tags.find((t) => t.Key === ACM_ARI_TAG)?.Value;
    if (old !== ari) {
      await this.call(
        region,
        'tagging',
        metadata.name,
        async () => {
          if (old !== undefined) {
            await client.send(
              new RemoveTagsFromCertificateCommand({
                CertificateArn: existing.arn,
                Tags: [{ Key: ACM_ARI_TAG }],
              }),
            );
          }
          if (ari) {
            await client.send(
              new AddTagsToCertificateCommand({
                CertificateArn: existing.arn,
                Tags: [{ Key: ACM_ARI_TAG, Value: ari }],
              }),
            );
          }
        },
        ' (the certificate itself was re-imported)',
      );
    }
    return existing.arn;
  }

  /**
   * The imported certificate tagged for `name` in `region` (and for this deployment, when it has
   * one: another deployment's certificate of the same name is not ours). Certificates whose domain name is
   * one of `likely` are checked first, to spend fewer ListTagsForCertificate calls.
   */
  private async find(region: string, name: string, likely: string[]): Promise<Existing | undefined> {
    const client = this.clientFor(region);
    const summaries: CertificateSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call(region, 'ListCertificates', name, () =>
        client.send(
          new ListCertificatesCommand({
            Includes: { keyTypes: ALL_KEY_ALGORITHMS },
            MaxItems: 1000,
            NextToken: nextToken,
          }),
        ),
      );
      summaries.push(...(page.CertificateSummaryList ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    const candidates = summaries
      .flatMap((s) =>
        typeof s.CertificateArn === 'string' && (s.Type === undefined || s.Type === 'IMPORTED')
          ? [{ arn: s.CertificateArn, summary: s }]
          : [],
      )
      .sort(
        (a, b) =>
          Number(likely.includes(b.summary.DomainName ?? '')) -
          Number(likely.includes(a.summary.DomainName ?? '')),
      );
    for (const { arn, summary } of candidates) {
      const res = await this.call(region, 'ListTagsForCertificate', name, () =>
        client.send(new ListTagsForCertificateCommand({ CertificateArn: arn })),
      );
      const tags = res.Tags ?? [];
      const ours =
        this.deployment === undefined ||
        tags.some((t) => t.Key === ACM_DEPLOYMENT_TAG && t.Value === this.deployment);
      if (ours && tags.some((t) => t.Key === ACM_CERTIFICATE_TAG && t.Value === name)) {
        return { arn, keyAlgorithm: summary.KeyAlgorithm, tags };
      }
    }
    return undefined;
  }

  /** Run one SDK call; translate its failure (never including the PEMs) into CertificateStoreError. */
  private async call<T>(
    region: string,
    operation: string,
    name: string,
    fn: () => Promise<T>,
    outcome = '',
  ): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new CertificateStoreError(
        `acm: ${operation} in ${region} for certificate "${name}" failed: ${errorNameOf(error)}: ${errorMessage(error)}${outcome}`,
        { cause: error },
      );
    }
  }
}

/**
 * Whether an existing certificate's key algorithm (either spelling) allows re-importing a
 * certificate with `keyType` into it. Unknown (not reported) allows it: ACM itself refuses a
 * re-import with another key type, and the error says so.
 */
function sameKeyAlgorithm(existing: string | undefined, keyType: KeyType): boolean {
  if (existing === undefined || existing === '') return true;
  return keyTypeOfAcmAlgorithm(existing) === keyType;
}

/** ACM's description of a certificate as certflow metadata. */
export function toMetadata(
  name: string,
  detail: CertificateDetail,
  tags: Tag[],
): CertificateMetadata | undefined {
  const keyType = keyTypeOfAcmAlgorithm(detail.KeyAlgorithm);
  if (!keyType || !detail.NotAfter || !detail.NotBefore) return undefined;
  const names = detail.SubjectAlternativeNames?.length
    ? detail.SubjectAlternativeNames
    : [detail.DomainName ?? ''];
  const metadata: CertificateMetadata = {
    name,
    domains: [...new Set(names.map((d) => d.toLowerCase()).filter(Boolean))],
    keyType,
    serial: (detail.Serial ?? '').replace(/:/g, '').toLowerCase(),
    issuer: detail.Issuer ?? '',
    notBefore: detail.NotBefore.toISOString(),
    notAfter: detail.NotAfter.toISOString(),
    storedAt: (detail.ImportedAt ?? detail.CreatedAt ?? detail.NotBefore).toISOString(),
  };
  const ari = tags.find((t) => t.Key === ACM_ARI_TAG)?.Value;
  if (ari) metadata.ariCertId = ari;
  return metadata;
}

/** A serial number as lowercase hex without separators or leading zero octets ("04:a1" → "4a1"). */
function serialHex(serial: string | undefined): string {
  return (serial ?? '')
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
}

/** The serial inside an RFC 9773 §4.1 CertID (`<base64url AKI>.<base64url serial octets>`), as {@link serialHex}. */
function serialOfCertId(certId: string): string | undefined {
  const part = certId.split('.')[1];
  if (!part) return undefined;
  const hex = Buffer.from(part, 'base64url').toString('hex');
  return hex === '' ? undefined : serialHex(hex);
}
