import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { CertificateStoreError, errorMessage } from '../../../core/errors';
import type {
  CertificateMetadata,
  CertificateStore,
  IssuedCertificate,
  StoredCertificate,
  StoredLocation,
} from '../../../core/ports';
import { errorNameOf } from '../../aws/retry';
import {
  certificateSecretName,
  isSecretNameSegment,
  namePrefixProblem,
  type RuntimeSecretOptions,
} from '../../aws/secret-names';
import {
  isCertflowTag,
  MAX_TAGS_PER_SECRET,
  metadataToTags,
  TAG,
  type Tag,
  tagsToMetadata,
} from './metadata-tags';

/** Options of {@link SecretsManagerCertificateStore}: the client, and where its secrets go. */
export interface SecretsManagerCertificateStoreOptions extends RuntimeSecretOptions {
  /** Created once per cold start by the caller. */
  client: SecretsManagerClient;
}

/** The JSON kept in each certificate secret (PEM, RFC 7468). */
export interface CertificateSecretValue {
  certificate: string;
  chain: string;
  fullchain: string;
  privateKey: string;
  metadata: CertificateMetadata;
}

/** What DescribeSecret tells about a certificate secret (never its value). */
interface SecretDescription {
  arn: string;
  tags: Tag[];
  /** Version id → staging labels. */
  versions: Record<string, string[]>;
  deletedDate?: Date;
}

/**
 * Certificates in AWS Secrets Manager, one secret per certificate, named
 * `<prefix>/certificate/<name>` and created on the certificate's first store (CreateSecret, with
 * the configured KMS key and tags), so a deployment's policy and template do not grow with its
 * certificates: the functions are granted the name prefix.
 *
 * `put` writes a new secret version with `PutSecretValue` (staged AWSCURRENT; Secrets Manager
 * moves the version it replaces to AWSPREVIOUS by itself, so the previous certificate stays
 * readable until the next one), then tags the secret with the certificate's public metadata and
 * the id of the version holding it. `current` reads only `DescribeSecret` (tags, version stages,
 * deletion date), never the secret value, so renewal decisions need no permission to read
 * private keys; it reports the certificate broken when the tags are incomplete, describe another
 * certificate, or describe a version that is no longer AWSCURRENT (the value was replaced
 * outside certflow), or when the secret is scheduled for deletion.
 *
 * A repeated `put` of the same certificate stores it once: each version's id
 * (`ClientRequestToken`) is derived from the certificate name and serial, and a version with that
 * id that is already AWSCURRENT is not written again (nor re-tagged when its tags already name
 * that serial).
 */
export class SecretsManagerCertificateStore implements CertificateStore {
  readonly kind = 'secretsmanager';
  private readonly client: SecretsManagerClient;
  private readonly options: RuntimeSecretOptions;

  constructor(options: SecretsManagerCertificateStoreOptions) {
    const problem = namePrefixProblem(options.namePrefix);
    if (problem) {
      throw new CertificateStoreError(
        `secretsmanager: the secret name prefix "${String(options.namePrefix)}" is unusable: ${problem}`,
      );
    }
    this.client = options.client;
    this.options = { namePrefix: options.namePrefix, kmsKeyId: options.kmsKeyId, tags: options.tags };
  }

  /** The secret holding certificate `name`: `<prefix>/certificate/<name>`. */
  secretName(name: string): string {
    if (!isSecretNameSegment(name)) {
      throw new CertificateStoreError(
        `secretsmanager: certificate name "${name}" cannot be part of a secret name (letters, digits and _+=.@- only); nothing was stored`,
      );
    }
    return certificateSecretName(this.options.namePrefix, name);
  }

  /**
   * The stored certificate, from DescribeSecret alone: `absent` when there is no secret yet, or
   * it carries no certflow tags; `broken` when the tags are incomplete or
   * inconsistent, name another certificate, or describe a version that is not AWSCURRENT, or
   * when the secret is scheduled for deletion; else `healthy` with the tags' metadata.
   * @throws CertificateStoreError when DescribeSecret fails (access denied, the service unreachable).
   */
  async current(name: string): Promise<StoredCertificate> {
    const secret = await this.describe(name);
    if (!secret) return { status: 'absent' };
    const arn = secret.arn;
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
    const claims = tagClaimProblems(metadata);
    if (claims.length > 0) {
      return {
        status: 'broken',
        problem: `the certflow:* tags of secret ${arn} cannot describe one certificate: ${claims.join('; ')}`,
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
    for (const field of ['certificatePem', 'fullchainPem', 'privateKeyPem'] as const) {
      if (typeof certificate[field] !== 'string' || certificate[field].trim() === '') {
        throw new CertificateStoreError(
          `secretsmanager: certificate "${name}" has no ${field}; nothing was stored`,
        );
      }
    }
    const versionId = versionIdFor(name, metadata.serial);
    const value: CertificateSecretValue = {
      certificate: certificate.certificatePem,
      chain: certificate.chainPem,
      fullchain: certificate.fullchainPem,
      privateKey: certificate.privateKeyPem,
      metadata,
    };
    const found = (await this.describe(name)) ?? (await this.create(name, versionId, value));
    if ('created' in found) return { store: this.kind, location: found.arn };
    const { arn, tags: existing, versions } = found;
    const stored = versions[versionId]?.includes('AWSCURRENT') === true;
    if (stored && tagsToMetadata(name, existing)?.serial === metadata.serial) {
      return { store: this.kind, location: arn };
    }
    const metadataTags = metadataToTags(metadata);
    const needed = metadataTags.length + 1; // and the version id
    const foreign = existing.filter((t) => !isCertflowTag(t.Key) && !t.Key.startsWith('aws:')).length;
    if (foreign + needed > MAX_TAGS_PER_SECRET) {
      throw new CertificateStoreError(
        `secretsmanager: certificate "${name}" needs ${needed} metadata tags for its ${metadata.domains.length} names, but its secret has ${foreign} other tags and allows ${MAX_TAGS_PER_SECRET}; remove other tags or split the certificate. Nothing was stored`,
      );
    }

    if (!stored) {
      try {
        await this.client.send(
          new PutSecretValueCommand({
            SecretId: this.secretName(name),
            ClientRequestToken: versionId,
            SecretString: JSON.stringify(value),
          }),
        );
      } catch (error) {
        throw this.failure('PutSecretValue', name, arn, error, 'the previous certificate is still current');
      }
    }
    const tags = [...metadataTags, { Key: TAG.versionId, Value: versionId }];

    const stale = existing
      .map((t) => t.Key)
      .filter((k) => isCertflowTag(k) && !tags.some((t) => t.Key === k));
    try {
      const SecretId = this.secretName(name);
      await this.client.send(new TagResourceCommand({ SecretId, Tags: tags }));
      if (stale.length > 0) await this.client.send(new UntagResourceCommand({ SecretId, TagKeys: stale }));
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

  /**
   * The certificate's first store: CreateSecret with the value as its first version (the same
   * version id a PutSecretValue would use), the configured KMS key and all tags at once. When
   * another writer created it first (ResourceExistsException), the caller goes on with it.
   */
  private async create(
    name: string,
    versionId: string,
    value: CertificateSecretValue,
  ): Promise<{ created: true; arn: string } | SecretDescription> {
    const secretName = this.secretName(name);
    try {
      const res = await this.client.send(
        new CreateSecretCommand({
          Name: secretName,
          Description: `certflow certificate "${name}" (written by FinalizeAndStore)`,
          ClientRequestToken: versionId,
          SecretString: JSON.stringify(value),
          ...(this.options.kmsKeyId ? { KmsKeyId: this.options.kmsKeyId } : {}),
          Tags: [
            ...(this.options.tags ?? []),
            ...metadataToTags(value.metadata),
            { Key: TAG.versionId, Value: versionId },
          ],
        }),
      );
      return { created: true, arn: res.ARN ?? secretName };
    } catch (error) {
      if (errorNameOf(error) === 'ResourceExistsException') {
        const found = await this.describe(name);
        if (found) return found;
      }
      throw this.failure('CreateSecret', name, secretName, error, 'nothing was stored');
    }
  }

  /** DescribeSecret of the certificate's secret, or undefined when there is none yet. */
  private async describe(name: string): Promise<SecretDescription | undefined> {
    const secretName = this.secretName(name);
    try {
      const res = await this.client.send(new DescribeSecretCommand({ SecretId: secretName }));
      return {
        arn: res.ARN ?? secretName,
        tags: (res.Tags ?? []).flatMap((t) =>
          typeof t.Key === 'string'
            ? [{ Key: t.Key, Value: typeof t.Value === 'string' ? t.Value : '' }]
            : [],
        ),
        versions: res.VersionIdsToStages ?? {},
        ...(res.DeletedDate ? { deletedDate: res.DeletedDate } : {}),
      };
    } catch (error) {
      if (errorNameOf(error) === 'ResourceNotFoundException') return undefined;
      throw this.failure('DescribeSecret', name, secretName, error);
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
      `secretsmanager: ${operation} for certificate "${name}" (${arn}) failed: ${errorNameOf(error)}: ${errorMessage(error)}${outcome ? `; ${outcome}` : ''}`,
      { cause: error },
    );
  }
}

/**
 * What the tags claim that no certificate could (the health check reads tags only, never the
 * secret's value, which holds the private key): validity that ends before it starts, or an RFC
 * 9773 CertID whose serial is not the tagged serial (tags edited or left from another put).
 */
function tagClaimProblems(metadata: CertificateMetadata): string[] {
  const problems: string[] = [];
  if (Date.parse(metadata.notBefore) >= Date.parse(metadata.notAfter)) {
    problems.push(`notBefore ${metadata.notBefore} is not before notAfter ${metadata.notAfter}`);
  }
  const certIdSerial = metadata.ariCertId?.split('.')[1];
  if (certIdSerial) {
    const fromCertId = Buffer.from(certIdSerial, 'base64url')
      .toString('hex')
      .replace(/^0+(?=.)/, '');
    const tagged = metadata.serial.toLowerCase().replace(/^0+(?=.)/, '');
    if (fromCertId !== '' && fromCertId !== tagged) {
      problems.push(`the ariCertId is for serial ${fromCertId}, but the serial tag says ${tagged}`);
    }
  }
  return problems;
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
