import { createHash } from 'node:crypto';
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { CertificateStoreError } from '../../../core/errors';
import type {
  CertificateMetadata,
  CertificateStore,
  IssuedCertificate,
  StoredLocation,
} from '../../../core/ports';
import { errorMessageOf, errorNameOf } from '../../aws/retry';
import {
  isCertflowTag,
  MAX_TAGS_PER_SECRET,
  metadataToTags,
  type Tag,
  tagsToMetadata,
} from './metadata-tags';

/** Options of {@link SecretsManagerCertificateStore}. */
export interface SecretsManagerCertificateStoreOptions {
  /** Created once per cold start by the caller. */
  client: SecretsManagerClient;
  /** Certificate name → ARN of its secret (the stack creates one KMS-encrypted secret per certificate). */
  secretArns: Record<string, string>;
}

/** The JSON kept in each certificate secret (PEM, RFC 7468). */
export interface CertificateSecretValue {
  certificate: string;
  chain: string;
  fullchain: string;
  privateKey: string;
  metadata: CertificateMetadata;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

/**
 * Certificates in AWS Secrets Manager, one secret per certificate.
 *
 * `put` writes a new secret version with `PutSecretValue` (staged AWSCURRENT; Secrets Manager
 * moves the version it replaces to AWSPREVIOUS by itself, so the previous certificate stays
 * readable until the next one), then tags the secret with the certificate's public metadata.
 * `current` reads only those tags (`DescribeSecret`), never the secret value, so renewal
 * decisions need no permission to read private keys.
 *
 * A repeated `put` of the same certificate stores it once: each version's id
 * (`ClientRequestToken`) is derived from the certificate name and serial, and a version with that
 * id that is already AWSCURRENT is not written again (nor re-tagged when its tags already name
 * that serial).
 */
export class SecretsManagerCertificateStore implements CertificateStore {
  readonly kind = 'secretsmanager';
  private readonly client: SecretsManagerClient;
  private readonly secretArns: ReadonlyMap<string, string>;

  constructor(options: SecretsManagerCertificateStoreOptions) {
    const arns = options.secretArns;
    if (arns === null || typeof arns !== 'object' || Array.isArray(arns)) {
      throw new CertificateStoreError('secretsmanager: secretArns must map certificate names to secret ARNs');
    }
    for (const [name, arn] of Object.entries(arns)) {
      if (typeof arn !== 'string' || !SECRET_ARN.test(arn)) {
        throw new CertificateStoreError(
          `secretsmanager: the secret for certificate "${name}" is not a Secrets Manager secret ARN: "${String(arn)}"`,
        );
      }
    }
    this.client = options.client;
    this.secretArns = new Map(Object.entries(arns));
  }

  /** The stored certificate's metadata, from the secret's tags; undefined when none was stored yet. */
  async current(name: string): Promise<CertificateMetadata | undefined> {
    const arn = this.arnFor(name);
    const tags = await this.describeTags(name, arn);
    return tagsToMetadata(name, tags);
  }

  /**
   * Store a new version of the certificate secret, then its metadata tags. A failure before
   * the new version is written leaves the previous certificate current; a tagging failure after
   * it is reported, and makes the next renewal run re-issue (the tags still describe the old one).
   */
  async put(certificate: IssuedCertificate): Promise<StoredLocation> {
    const { metadata } = certificate;
    const name = metadata.name;
    const arn = this.arnFor(name);
    for (const field of ['certificatePem', 'fullchainPem', 'privateKeyPem'] as const) {
      if (typeof certificate[field] !== 'string' || certificate[field].trim() === '') {
        throw new CertificateStoreError(
          `secretsmanager: certificate "${name}" has no ${field}; nothing was stored`,
        );
      }
    }
    const { tags: existing, versions } = await this.describe(name, arn);
    const versionId = versionIdFor(name, metadata.serial);
    const stored = versions[versionId]?.includes('AWSCURRENT') === true;
    if (stored && tagsToMetadata(name, existing)?.serial === metadata.serial) {
      return { store: this.kind, location: arn };
    }
    const tags = metadataToTags(metadata);
    const foreign = existing.filter((t) => !isCertflowTag(t.Key) && !t.Key.startsWith('aws:')).length;
    if (foreign + tags.length > MAX_TAGS_PER_SECRET) {
      throw new CertificateStoreError(
        `secretsmanager: certificate "${name}" needs ${tags.length} metadata tags for its ${metadata.domains.length} names, but its secret has ${foreign} other tags and allows ${MAX_TAGS_PER_SECRET}; remove other tags or split the certificate. Nothing was stored`,
      );
    }

    const value: CertificateSecretValue = {
      certificate: certificate.certificatePem,
      chain: certificate.chainPem,
      fullchain: certificate.fullchainPem,
      privateKey: certificate.privateKeyPem,
      metadata,
    };
    if (!stored) {
      try {
        await this.client.send(
          new PutSecretValueCommand({
            SecretId: arn,
            ClientRequestToken: versionId,
            SecretString: JSON.stringify(value),
          }),
        );
      } catch (error) {
        throw this.failure('PutSecretValue', name, arn, error, 'the previous certificate is still current');
      }
    }

    const stale = existing
      .map((t) => t.Key)
      .filter((k) => isCertflowTag(k) && !tags.some((t) => t.Key === k));
    try {
      await this.client.send(new TagResourceCommand({ SecretId: arn, Tags: tags }));
      if (stale.length > 0)
        await this.client.send(new UntagResourceCommand({ SecretId: arn, TagKeys: stale }));
    } catch (error) {
      throw this.failure(
        'TagResource',
        name,
        arn,
        error,
        'the new certificate IS stored, but its metadata tags are stale, so the next run will re-issue it',
      );
    }
    return { store: this.kind, location: arn };
  }

  private arnFor(name: string): string {
    const arn = this.secretArns.get(name);
    if (arn === undefined) {
      throw new CertificateStoreError(
        `secretsmanager: no secret is configured for certificate "${name}"; deploy the stack with it in the configuration`,
      );
    }
    return arn;
  }

  private async describeTags(name: string, arn: string): Promise<Tag[]> {
    return (await this.describe(name, arn)).tags;
  }

  /** DescribeSecret: the secret's tags and its versions' staging labels. */
  private async describe(
    name: string,
    arn: string,
  ): Promise<{ tags: Tag[]; versions: Record<string, string[]> }> {
    try {
      const res = await this.client.send(new DescribeSecretCommand({ SecretId: arn }));
      const tags = (res.Tags ?? []).flatMap((t) =>
        typeof t.Key === 'string' ? [{ Key: t.Key, Value: typeof t.Value === 'string' ? t.Value : '' }] : [],
      );
      return { tags, versions: res.VersionIdsToStages ?? {} };
    } catch (error) {
      throw this.failure('DescribeSecret', name, arn, error);
    }
  }

  /** Translate an SDK error; the message names the call and the secret, never the value. */
  private failure(
    operation: string,
    name: string,
    arn: string,
    error: unknown,
    outcome?: string,
  ): CertificateStoreError {
    return new CertificateStoreError(
      `secretsmanager: ${operation} for certificate "${name}" (${arn}) failed: ${errorNameOf(error)}: ${errorMessageOf(error)}${outcome ? `; ${outcome}` : ''}`,
      { cause: error },
    );
  }
}

/**
 * The secret version id of a certificate (a UUID-shaped SHA-256 of name and serial, within
 * Secrets Manager's 32-64 characters for `ClientRequestToken`): the same certificate always gets
 * the same version, so storing it twice cannot make a second version.
 */
export function versionIdFor(name: string, serial: string): string {
  const hex = createHash('sha256').update(`certflow certificate\n${name}\n${serial}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
