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
  StoredCertificate,
  StoredLocation,
} from '../../../core/ports';
import { errorMessageOf, errorNameOf } from '../../aws/retry';
import {
  isCertflowTag,
  MAX_TAGS_PER_SECRET,
  metadataToTags,
  TAG,
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

/** What DescribeSecret tells about a certificate secret (never its value). */
interface SecretDescription {
  tags: Tag[];
  /** Version id → staging labels. */
  versions: Record<string, string[]>;
  deletedDate?: Date;
}

/**
 * Certificates in AWS Secrets Manager, one secret per certificate.
 *
 * `put` writes a new secret version with `PutSecretValue` (staged AWSCURRENT; Secrets Manager
 * moves the version it replaces to AWSPREVIOUS by itself, so the previous certificate stays
 * readable until the next one), then tags the secret with the certificate's public metadata and
 * the id of the version holding it. `current` reads only `DescribeSecret` (tags, version stages,
 * deletion date), never the secret value, so renewal decisions need no permission to read
 * private keys; it reports the certificate broken when the tags are incomplete, describe another
 * certificate, or describe a version that is no longer AWSCURRENT (the value was replaced
 * outside certflow), or when the secret is scheduled for deletion.
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

  /**
   * The stored certificate, from DescribeSecret alone: `absent` when the secret carries no
   * certflow tags (as the stack creates it); `broken` when the tags are incomplete or
   * inconsistent, name another certificate, or describe a version that is not AWSCURRENT, or
   * when the secret is scheduled for deletion; else `healthy` with the tags' metadata.
   * @throws CertificateStoreError when DescribeSecret fails (access denied, no such secret).
   */
  async current(name: string): Promise<StoredCertificate> {
    const arn = this.arnFor(name);
    const secret = await this.describe(name, arn);
    if (secret.deletedDate) {
      return {
        status: 'broken',
        problem: `secret ${arn} is scheduled for deletion on ${secret.deletedDate.toISOString()}; restore it (RestoreSecret) so the certificate can be stored`,
      };
    }
    const ours = secret.tags.filter((t) => isCertflowTag(t.Key));
    if (ours.length === 0) return { status: 'absent' };
    const tagged = ours.find((t) => t.Key === TAG.certificate)?.Value;
    if (tagged !== undefined && tagged !== name) {
      return {
        status: 'broken',
        problem: `secret ${arn} is tagged for certificate "${tagged}", not "${name}"`,
      };
    }
    const metadata = tagsToMetadata(name, secret.tags);
    if (!metadata) {
      return {
        status: 'broken',
        problem: `the certflow:* tags of secret ${arn} are incomplete or inconsistent (a store that stopped half-way?)`,
      };
    }
    const current = Object.entries(secret.versions).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    if (current === undefined) {
      return {
        status: 'broken',
        problem: `secret ${arn} has tags for serial ${metadata.serial} but no AWSCURRENT version`,
        metadata,
      };
    }
    const version = ours.find((t) => t.Key === TAG.versionId)?.Value;
    if (version !== undefined && version !== current) {
      const stages = secret.versions[version];
      return {
        status: 'broken',
        problem: `the AWSCURRENT version of secret ${arn} is ${current}, but its tags describe version ${version} (${stages?.length ? stages.join(', ') : 'no longer staged'}): the value was changed after certflow stored serial ${metadata.serial}`,
        metadata,
      };
    }
    return { status: 'healthy', metadata };
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
    const existing = (await this.describe(name, arn)).tags;
    const metadataTags = metadataToTags(metadata);
    const needed = metadataTags.length + 1; // and the version id
    const foreign = existing.filter((t) => !isCertflowTag(t.Key) && !t.Key.startsWith('aws:')).length;
    if (foreign + needed > MAX_TAGS_PER_SECRET) {
      throw new CertificateStoreError(
        `secretsmanager: certificate "${name}" needs ${needed} metadata tags for its ${metadata.domains.length} names, but its secret has ${foreign} other tags and allows ${MAX_TAGS_PER_SECRET}; remove other tags or split the certificate. Nothing was stored`,
      );
    }

    const value: CertificateSecretValue = {
      certificate: certificate.certificatePem,
      chain: certificate.chainPem,
      fullchain: certificate.fullchainPem,
      privateKey: certificate.privateKeyPem,
      metadata,
    };
    let versionId: string | undefined;
    try {
      const res = await this.client.send(
        new PutSecretValueCommand({
          SecretId: arn,
          SecretString: JSON.stringify(value),
        }),
      );
      versionId = res.VersionId;
    } catch (error) {
      throw this.failure('PutSecretValue', name, arn, error, 'the previous certificate is still current');
    }
    const tags = versionId ? [...metadataTags, { Key: TAG.versionId, Value: versionId }] : metadataTags;

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

  private async describe(name: string, arn: string): Promise<SecretDescription> {
    try {
      const res = await this.client.send(new DescribeSecretCommand({ SecretId: arn }));
      return {
        tags: (res.Tags ?? []).flatMap((t) =>
          typeof t.Key === 'string'
            ? [{ Key: t.Key, Value: typeof t.Value === 'string' ? t.Value : '' }]
            : [],
        ),
        versions: res.VersionIdsToStages ?? {},
        ...(res.DeletedDate ? { deletedDate: res.DeletedDate } : {}),
      };
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
