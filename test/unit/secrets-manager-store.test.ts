import { generateKeyPairSync } from 'node:crypto';
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  SecretsManagerClient,
  TagResourceCommand,
  type TagResourceCommandInput,
  UntagResourceCommand,
  type UntagResourceCommandInput,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  SecretsManagerCertificateStore,
  versionIdFor,
} from '../../lambdas/adapters/store/secrets-manager/secrets-manager-store';
import { CertificateStoreError } from '../../lambdas/core/errors';
import type { CertificateMetadata, IssuedCertificate } from '../../lambdas/core/ports';
import {
  accessDenied,
  describeSecretResponse,
  putSecretValueResponse,
  resourceNotFound,
  TAG_RESOURCE_RESPONSE,
} from '../fixtures/aws/secrets-manager';
import { resourceExists } from '../support/secrets-manager-fake';

// The secret of certificate "www" under the prefix "certflow"; its ARN has the shape of the AWS
// CLI describe-secret example's (random 6-character suffix), adapted.
const NAME = 'certflow/certificate/www';
const ARN = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${NAME}-Ca8JGt`;
const KMS = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const sm = mockClient(SecretsManagerClient);

function store(): SecretsManagerCertificateStore {
  return new SecretsManagerCertificateStore({
    client: new SecretsManagerClient({ region: 'eu-west-1' }),
    namePrefix: 'certflow',
    kmsKeyId: KMS,
    tags: [{ Key: 'certflow:managed-by', Value: 'certflow' }],
  });
}

function issued(overrides: Partial<CertificateMetadata> = {}): IssuedCertificate {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = '-----BEGIN CERTIFICATE-----\nMIIBleaf\n-----END CERTIFICATE-----\n';
  const chain = '-----BEGIN CERTIFICATE-----\nMIIBchain\n-----END CERTIFICATE-----\n';
  return {
    metadata: {
      name: 'www',
      domains: ['example.com', '*.example.com'],
      keyType: 'ecdsa-p256',
      serial: '04a1b2c3d4e5f6',
      issuer: "CN=(STAGING) Ersatz Edamame E1, O=(STAGING) Let's Encrypt, C=US",
      notBefore: '2025-01-01T00:00:00.000Z',
      notAfter: '2025-04-01T00:00:00.000Z',
      ariCertId: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGyw9Tl9g',
      storedAt: '2025-01-01T00:05:00.000Z',
      ...overrides,
    },
    certificatePem: leaf,
    chainPem: chain,
    fullchainPem: leaf + chain,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/**
 * One secret with Secrets Manager's documented behaviour: PutSecretValue adds a version staged
 * AWSCURRENT and moves AWSPREVIOUS to the version that was current; tags are a key/value map.
 * Answers are AWS's examples (test/fixtures/aws/secrets-manager.ts: botocore
 * secretsmanager examples-1.json and the SDK's command examples) carrying this secret's state;
 * DescribeSecret also lists the example's own `FirstTag`/`SecondTag`, which certflow must keep.
 */
class FakeSecret {
  readonly versions: { id: string; value: string; stages: string[] }[] = [];
  readonly tags = new Map<string, string>();
  created?: CreateSecretCommandInput;

  /** `exists`: the secret is there already (an earlier store created it); else the first put creates it. */
  constructor(private exists = true) {}

  install(): void {
    sm.on(DescribeSecretCommand, { SecretId: NAME }).callsFake(async () => {
      if (!this.exists) throw resourceNotFound();
      return describeSecretResponse({
        arn: ARN,
        name: NAME,
        tags: [...this.tags].map(([Key, Value]) => ({ Key, Value })),
        versionIdsToStages: Object.fromEntries(this.versions.map((v) => [v.id, v.stages])),
      });
    });
    // CreateSecret: the ClientRequestToken becomes the first version's id, staged AWSCURRENT;
    // the tags are set at once. Response: "To create a basic secret", API_CreateSecret.html#API_CreateSecret_Examples
    // (ARN, Name, VersionId), with this secret's values.
    sm.on(CreateSecretCommand, { Name: NAME }).callsFake(async (input: CreateSecretCommandInput) => {
      if (this.exists) throw resourceExists();
      this.exists = true;
      this.created = input;
      const id = String(input.ClientRequestToken);
      this.versions.push({ id, value: String(input.SecretString), stages: ['AWSCURRENT'] });
      for (const t of input.Tags ?? []) this.tags.set(String(t.Key), String(t.Value));
      return { ARN, Name: NAME, VersionId: id };
    });
    sm.on(PutSecretValueCommand, { SecretId: NAME }).callsFake(async (input: PutSecretValueCommandInput) => {
      const stages = input.VersionStages ?? ['AWSCURRENT'];
      if (stages.includes('AWSCURRENT')) {
        for (const v of this.versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
        for (const v of this.versions) {
          if (v.stages.includes('AWSCURRENT'))
            v.stages = [...v.stages.filter((s) => s !== 'AWSCURRENT'), 'AWSPREVIOUS'];
        }
      }
      // The ClientRequestToken becomes the new version's id (API_PutSecretValue.html, ClientRequestToken).
      const id = input.ClientRequestToken ?? `EXAMPLE${this.versions.length + 1}-90ab-cdef-fedc-ba987EXAMPLE`;
      this.versions.push({ id, value: String(input.SecretString), stages });
      return { ...putSecretValueResponse({ arn: ARN, name: NAME, versionId: id }), VersionStages: stages };
    });
    sm.on(TagResourceCommand, { SecretId: NAME }).callsFake(async (input: TagResourceCommandInput) => {
      for (const t of input.Tags ?? []) this.tags.set(String(t.Key), String(t.Value));
      return TAG_RESOURCE_RESPONSE;
    });
    sm.on(UntagResourceCommand, { SecretId: NAME }).callsFake(async (input: UntagResourceCommandInput) => {
      for (const k of input.TagKeys ?? []) this.tags.delete(k);
      return TAG_RESOURCE_RESPONSE;
    });
  }

  valueAt(stage: string): Record<string, unknown> | undefined {
    const v = this.versions.find((x) => x.stages.includes(stage));
    return v ? (JSON.parse(v.value) as Record<string, unknown>) : undefined;
  }
}

beforeEach(() => sm.reset());

describe('SecretsManagerCertificateStore.put', () => {
  it('writes one new version with the PEMs and metadata, then tags; returns the secret ARN', async () => {
    const secret = new FakeSecret();
    secret.install();
    const cert = issued();

    await expect(store().put(cert)).resolves.toEqual({ store: 'secretsmanager', location: ARN });

    expect(secret.valueAt('AWSCURRENT')).toEqual({
      certificate: cert.certificatePem,
      chain: cert.chainPem,
      fullchain: cert.fullchainPem,
      privateKey: cert.privateKeyPem,
      metadata: cert.metadata,
    });
    expect(secret.tags.get('certflow:serial')).toBe('04a1b2c3d4e5f6');
    expect(secret.tags.get('certflow:notAfter')).toBe('2025-04-01T00:00:00.000Z');
    // the tags say which version holds the certificate they describe: the version id certflow
    // derives from the name and serial (so a repeated put stores once)
    expect(secret.tags.get('certflow:versionId')).toBe(versionIdFor('www', cert.metadata.serial));
    expect(secret.versions.map((v) => v.id)).toEqual([versionIdFor('www', cert.metadata.serial)]);
    for (const [key, value] of secret.tags) {
      expect(value.length).toBeLessThanOrEqual(255);
      expect(value).toMatch(/^[A-Za-z0-9 +\-=.:/@_]*$/);
      expect(key).toMatch(/^certflow:/);
      expect(value).not.toContain('PRIVATE KEY');
    }
  });

  it('keeps the previous certificate as AWSPREVIOUS: PutSecretValue only, no version-stage changes', async () => {
    const secret = new FakeSecret();
    secret.install();
    const first = issued({ serial: '01' });
    const second = issued({ serial: '02' });

    await store().put(first);
    await store().put(second);

    expect(sm).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    for (const call of sm.commandCalls(PutSecretValueCommand)) {
      expect(call.args[0].input.VersionStages).toBeUndefined();
    }
    expect(secret.valueAt('AWSCURRENT')?.privateKey).toBe(second.privateKeyPem);
    expect(secret.valueAt('AWSPREVIOUS')?.privateKey).toBe(first.privateKeyPem);
    const used = new Set(sm.calls().map((c) => c.args[0].constructor.name));
    expect([...used].sort()).toEqual([
      'DescribeSecretCommand',
      'PutSecretValueCommand',
      'TagResourceCommand',
    ]);
  });

  it('creates the secret on the first store: the value as its first version, the KMS key, every tag at once', async () => {
    const secret = new FakeSecret(false);
    secret.install();
    const cert = issued();

    await expect(store().put(cert)).resolves.toEqual({ store: 'secretsmanager', location: ARN });
    expect(secret.created).toMatchObject({ Name: NAME, KmsKeyId: KMS });
    expect(secret.valueAt('AWSCURRENT')).toMatchObject({ privateKey: cert.privateKeyPem });
    expect(secret.tags.get('certflow:managed-by')).toBe('certflow');
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
    expect(sm).not.toHaveReceivedCommand(TagResourceCommand);
    await expect(store().current('www')).resolves.toEqual({ status: 'healthy', metadata: cert.metadata });
    // stored once: a repeated put (a retried FinalizeAndStore) writes nothing
    await store().put(cert);
    expect(secret.versions).toHaveLength(1);
  });

  it('refuses a certificate name that cannot be part of a secret name, before any call', async () => {
    const error = await store()
      .put(issued({ name: 'a/b' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertificateStoreError);
    expect((error as Error).message).toMatch(
      /^secretsmanager: certificate name "a\/b" cannot be part of a secret name/,
    );
    expect(sm.calls()).toHaveLength(0);
  });

  it('translates a PutSecretValue failure without any secret material, and does not tag', async () => {
    const secret = new FakeSecret();
    secret.install();
    const denied = accessDenied();
    sm.on(PutSecretValueCommand).rejects(denied);
    const cert = issued();

    const error = await store()
      .put(cert)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CertificateStoreError);
    expect((error as Error).cause).toBe(denied);
    expect((error as Error).message).toContain('PutSecretValue');
    expect((error as Error).message).toContain('AccessDeniedException');
    expect((error as Error).message).toContain('previous certificate is still current');
    expect((error as Error).message).not.toContain('PRIVATE KEY');
    expect((error as Error).message).not.toContain(cert.privateKeyPem.split('\n')[1]);
    expect(JSON.stringify(error)).not.toContain('PRIVATE KEY');
    expect(sm).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('says the certificate is stored when only tagging failed', async () => {
    const secret = new FakeSecret();
    secret.install();
    sm.on(TagResourceCommand).rejects(accessDenied());

    await expect(store().put(issued())).rejects.toThrow(/IS stored.*re-issue/);
    expect(secret.versions).toHaveLength(1);
  });

  it('refuses, before writing, a name list that cannot fit in the tag budget', async () => {
    const secret = new FakeSecret();
    secret.install();
    for (let i = 0; i < 40; i++) secret.tags.set(`team:${i}`, 'x');
    const domains = Array.from({ length: 100 }, (_, i) => `host-${i}-${'a'.repeat(40)}.example.com`);

    await expect(store().put(issued({ domains }))).rejects.toThrow(/split the certificate/);
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
  });
});

describe('SecretsManagerCertificateStore.current', () => {
  it('round-trips the metadata through tags only, never reading the secret value', async () => {
    const secret = new FakeSecret();
    secret.install();
    const domains = [
      'example.com',
      '*.example.com',
      ...Array.from({ length: 60 }, (_, i) => `service-${i}.eu-west-1.internal.xn--bcher-kva.example`),
    ];
    const cert = issued({ domains, issuer: "CN=Ünïcode_CA, O=O'Brien & Co, C=IE" });

    await store().put(cert);
    const current = await store().current('www');

    expect(current).toEqual({ status: 'healthy', metadata: cert.metadata });
    expect(sm).not.toHaveReceivedCommand(GetSecretValueCommand);
    const domainTags = [...secret.tags.keys()].filter((k) => k.startsWith('certflow:domains:'));
    expect(domainTags.length).toBeGreaterThan(1);
  });

  it('drops stale name tags when a later certificate has fewer names', async () => {
    const secret = new FakeSecret();
    secret.install();
    const many = Array.from({ length: 40 }, (_, i) => `name-${i}.example.com`);
    await store().put(issued({ domains: many, ariCertId: 'aaaa.bbbb' }));
    const before = [...secret.tags.keys()].filter((k) => k.startsWith('certflow:domains:')).length;

    const fewer = issued({ domains: ['example.com'], serial: '05' });
    delete fewer.metadata.ariCertId;
    await store().put(fewer);

    expect(before).toBeGreaterThan(1);
    expect([...secret.tags.keys()].filter((k) => k.startsWith('certflow:domains:'))).toEqual([
      'certflow:domains:0',
    ]);
    expect(secret.tags.has('certflow:ariCertId')).toBe(false);
    expect(await store().current('www')).toEqual({ status: 'healthy', metadata: fewer.metadata });
    // Tags that are not certflow's (the AWS example's FirstTag/SecondTag) are never removed.
    const untagged = sm.commandCalls(UntagResourceCommand).flatMap((c) => c.args[0].input.TagKeys ?? []);
    expect(untagged.length).toBeGreaterThan(0);
    expect(untagged.every((k) => k.startsWith('certflow:'))).toBe(true);
  });

  it('reports absent for a secret that holds no certificate yet (no certflow tags)', async () => {
    sm.on(DescribeSecretCommand).resolves(
      describeSecretResponse({ arn: ARN, name: NAME, tags: [{ Key: 'team', Value: 'platform' }] }),
    );
    await expect(store().current('www')).resolves.toEqual({ status: 'absent' });
  });

  it('reports broken when the tags are inconsistent (a put stopped half-way), so renewal re-issues', async () => {
    const secret = new FakeSecret();
    secret.install();
    await store().put(issued());
    secret.tags.set('certflow:domains:0', 'example.com');

    await expect(store().current('www')).resolves.toEqual({
      status: 'broken',
      problem: `the certflow:* tags of secret ${ARN} are incomplete or inconsistent (a store that stopped half-way?)`,
    });
  });

  it('reports broken, without reading the value, when edited tags claim what no certificate could (notBefore after notAfter)', async () => {
    const secret = new FakeSecret();
    secret.install();
    const cert = issued();
    await store().put(cert);
    const edited = new Date(Date.parse(cert.metadata.notAfter) + 3_600_000).toISOString();
    secret.tags.set('certflow:notBefore', edited);

    await expect(store().current('www')).resolves.toMatchObject({
      status: 'broken',
      problem: `the certflow:* tags of secret ${ARN} cannot describe one certificate: notBefore ${edited} is not before notAfter ${cert.metadata.notAfter}`,
    });
    expect(sm).not.toHaveReceivedCommand(GetSecretValueCommand);
  });

  it('reports broken, without reading the value, when the current version is not the one the tags describe', async () => {
    const secret = new FakeSecret();
    secret.install();
    const cert = issued();
    await store().put(cert);
    // someone (or a rotation) puts another value: the tags now describe AWSPREVIOUS
    await new SecretsManagerClient({ region: 'eu-west-1' }).send(
      new PutSecretValueCommand({ SecretId: NAME, SecretString: '{"username":"david"}' }),
    );

    await expect(store().current('www')).resolves.toEqual({
      status: 'broken',
      problem: `the AWSCURRENT version of secret ${ARN} is EXAMPLE2-90ab-cdef-fedc-ba987EXAMPLE, but its tags describe version ${versionIdFor('www', cert.metadata.serial)} (AWSPREVIOUS): the value was changed after certflow stored serial 04a1b2c3d4e5f6`,
      metadata: cert.metadata,
    });
    expect(sm).not.toHaveReceivedCommand(GetSecretValueCommand);
  });

  it('reports broken after a put whose tagging failed (the tags still describe the previous version)', async () => {
    const secret = new FakeSecret();
    secret.install();
    await store().put(issued({ serial: '01' }));
    sm.on(TagResourceCommand).rejects(accessDenied());
    await expect(store().put(issued({ serial: '02' }))).rejects.toThrow(/IS stored/);

    await expect(store().current('www')).resolves.toMatchObject({
      status: 'broken',
      problem: expect.stringContaining(
        `its tags describe version ${versionIdFor('www', '01')} (AWSPREVIOUS)`,
      ),
    });
  });

  it('reports broken when the secret is scheduled for deletion', async () => {
    // The DescribeSecret example (test/fixtures/aws/secrets-manager.ts), for a secret deleted as in
    // botocore's DeleteSecret example ("DeletionDate": "1524085349.095"); DeletedDate is documented
    // in the API reference, https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html
    sm.on(DescribeSecretCommand).resolves({
      ...describeSecretResponse({ arn: ARN, name: NAME }),
      DeletedDate: new Date(1524085349095),
    });
    await expect(store().current('www')).resolves.toEqual({
      status: 'broken',
      problem: `secret ${ARN} is scheduled for deletion on 2018-04-18T21:02:29.095Z; restore it (RestoreSecret) so the certificate can be stored`,
    });
  });

  it('reports absent before the first store (no secret yet)', async () => {
    sm.on(DescribeSecretCommand).rejects(resourceNotFound());
    await expect(store().current('www')).resolves.toEqual({ status: 'absent' });
  });

  it('translates a DescribeSecret failure into CertificateStoreError naming the certificate and the cause', async () => {
    const denied = accessDenied();
    sm.on(DescribeSecretCommand).rejects(denied);

    const error = await store()
      .current('www')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertificateStoreError);
    expect((error as Error).message).toContain('"www"');
    expect((error as Error).message).toContain('AccessDeniedException');
    expect((error as Error).cause).toBe(denied);
  });

  it('rejects an unusable secret name prefix', () => {
    expect(
      () =>
        new SecretsManagerCertificateStore({
          client: new SecretsManagerClient({ region: 'eu-west-1' }),
          namePrefix: '/certflow/',
        }),
    ).toThrow(
      /^secretsmanager: the secret name prefix "\/certflow\/" is unusable: it must not start or end with "\/"/,
    );
  });
});
