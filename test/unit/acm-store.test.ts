import { generateKeyPairSync } from 'node:crypto';
import {
  ACMClient,
  AddTagsToCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RemoveTagsFromCertificateCommand,
} from '@aws-sdk/client-acm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AcmCertificateStore } from '../../lambdas/adapters/store/acm/acm-store';
import { CertificateStoreError } from '../../lambdas/core/errors';
import type { CertificateMetadata, IssuedCertificate } from '../../lambdas/core/ports';
import {
  certificateSummary,
  DESCRIBED_EC_P256,
  DESCRIBED_RSA_2048,
  describeCertificateResponse,
  describedCertificate,
  ENUM_EC_P256,
  ENUM_RSA_2048,
  EXAMPLE_CERTIFICATE_ARN,
  EXAMPLE_NEXT_TOKEN,
  importCertificateResponse,
  limitExceeded,
  listCertificatesResponse,
  listTagsResponse,
  SECOND_EXAMPLE_CERTIFICATE_ARN,
} from '../fixtures/aws/acm';

const HOME = 'eu-west-1';
const EDGE = 'us-east-1';
const homeClient = new ACMClient({ region: HOME });
const edgeClient = new ACMClient({ region: EDGE });
const home = mockClient(homeClient);
const edge = mockClient(edgeClient);

// The ARNs of the AWS CLI examples (test/fixtures/aws/acm.ts), placed in this test's regions (adapted).
const EXISTING_ARN = EXAMPLE_CERTIFICATE_ARN.replace('us-east-1', HOME);
const NEW_ARN = SECOND_EXAMPLE_CERTIFICATE_ARN;
const OTHER_ARN = SECOND_EXAMPLE_CERTIFICATE_ARN.replace('us-east-1', HOME);

function store(regions = [HOME]): AcmCertificateStore {
  return new AcmCertificateStore({
    clientFor: (region) => (region === HOME ? homeClient : edgeClient),
    regions,
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
      serial: '04a1b2',
      issuer: 'R11',
      notBefore: '2025-01-01T00:00:00.000Z',
      notAfter: '2025-04-01T00:00:00.000Z',
      ariCertId: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGy',
      storedAt: '2025-01-01T00:05:00.000Z',
      ...overrides,
    },
    certificatePem: leaf,
    chainPem: chain,
    fullchainPem: leaf + chain,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const text = (bytes: Uint8Array | undefined): string =>
  Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

/**
 * The home region holds an unrelated imported certificate, an ACM-issued one, and (optionally)
 * ours, as ListCertificates / ListTagsForCertificate answer (AWS CLI examples, adapted names).
 * `keyAlgorithm` is the summary's spelling: the request-enum form or the hyphenated output form.
 */
function homeHolds(ours: { keyAlgorithm?: string; ari?: string; deployment?: string } | undefined): void {
  home.on(ListCertificatesCommand).resolves(
    listCertificatesResponse([
      certificateSummary(OTHER_ARN, 'other.example.org', { type: 'IMPORTED', keyAlgorithm: ENUM_RSA_2048 }),
      certificateSummary(`${OTHER_ARN}-issued`, 'example.com', {
        type: 'AMAZON_ISSUED',
        keyAlgorithm: ENUM_RSA_2048,
      }),
      ...(ours
        ? [
            certificateSummary(EXISTING_ARN, 'example.com', {
              type: 'IMPORTED',
              keyAlgorithm: ours.keyAlgorithm ?? ENUM_EC_P256,
            }),
          ]
        : []),
    ]),
  );
  home
    .on(ListTagsForCertificateCommand, { CertificateArn: OTHER_ARN })
    .resolves(listTagsResponse([{ Key: 'certflow:certificate', Value: 'api' }]));
  home
    .on(ListTagsForCertificateCommand, { CertificateArn: EXISTING_ARN })
    .resolves(
      listTagsResponse([
        { Key: 'certflow:certificate', Value: 'www' },
        ...(ours?.deployment ? [{ Key: 'certflow:deployment', Value: ours.deployment }] : []),
        ...(ours?.ari ? [{ Key: 'certflow:ariCertId', Value: ours.ari }] : []),
      ]),
    );
}

/** DescribeCertificate of our certificate: the AWS CLI example, adapted to it. */
function describedAs(keyAlgorithm: string) {
  return {
    Certificate: describedCertificate({
      arn: EXISTING_ARN,
      domains: ['example.com', '*.example.com'],
      keyAlgorithm,
      issuer: 'R11',
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2025-04-01T00:00:00Z'),
      importedAt: new Date('2025-01-01T00:05:00Z'),
    }),
  };
}

beforeEach(() => {
  home.reset();
  edge.reset();
});

describe('AcmCertificateStore.put', () => {
  it('imports a new certificate with the certflow tags the first time', async () => {
    homeHolds(undefined);
    home.on(ImportCertificateCommand).resolves(importCertificateResponse(EXISTING_ARN));
    const cert = issued();

    await expect(store().put(cert)).resolves.toEqual({ store: 'acm', location: EXISTING_ARN });

    const [call] = home.commandCalls(ImportCertificateCommand);
    const input = call?.args[0].input;
    expect(input?.CertificateArn).toBeUndefined();
    expect(input?.Tags).toEqual([
      { Key: 'certflow:certificate', Value: 'www' },
      { Key: 'certflow:ariCertId', Value: cert.metadata.ariCertId },
    ]);
    expect(text(input?.Certificate)).toBe(cert.certificatePem);
    expect(text(input?.CertificateChain)).toBe(cert.chainPem);
    expect(text(input?.PrivateKey)).toBe(cert.privateKeyPem);
    // ListCertificates hides EC certificates unless asked for them.
    expect(home).toHaveReceivedCommandWith(ListCertificatesCommand, {
      Includes: { keyTypes: expect.arrayContaining(['EC_prime256v1', 'EC_secp384r1', 'RSA_4096']) },
    });
  });

  it('re-imports to the same ARN (no tags on re-import), then updates the CertID tag', async () => {
    homeHolds({ ari: 'old.id' });
    home.on(ImportCertificateCommand).resolves(importCertificateResponse(EXISTING_ARN));
    const cert = issued();

    await expect(store().put(cert)).resolves.toEqual({ store: 'acm', location: EXISTING_ARN });

    expect(home).toHaveReceivedCommandTimes(ImportCertificateCommand, 1);
    const input = home.commandCalls(ImportCertificateCommand)[0]?.args[0].input;
    expect(input?.CertificateArn).toBe(EXISTING_ARN);
    expect(input?.Tags).toBeUndefined();
    expect(home).toHaveReceivedCommandWith(RemoveTagsFromCertificateCommand, {
      CertificateArn: EXISTING_ARN,
      Tags: [{ Key: 'certflow:ariCertId' }],
    });
    expect(home).toHaveReceivedCommandWith(AddTagsToCertificateCommand, {
      CertificateArn: EXISTING_ARN,
      Tags: [{ Key: 'certflow:ariCertId', Value: cert.metadata.ariCertId }],
    });
  });

  it("with a deployment: the first import carries the deployment tag in the request (what the IAM condition aws:RequestTag reads), and a re-import takes only that deployment's certificate", async () => {
    // The home region holds "www" imported by another deployment (same certificate name) and
    // none of ours: ours is a new import, tagged with this deployment.
    homeHolds({ deployment: 'OtherStack' });
    home.on(ImportCertificateCommand).resolves(importCertificateResponse(NEW_ARN));
    const cert = issued();
    const mine = new AcmCertificateStore({
      clientFor: () => homeClient,
      regions: [HOME],
      deployment: 'CertflowProd',
    });

    await expect(mine.put(cert)).resolves.toEqual({ store: 'acm', location: NEW_ARN });

    const input = home.commandCalls(ImportCertificateCommand)[0]?.args[0].input;
    expect(input?.CertificateArn).toBeUndefined();
    expect(input?.Tags).toEqual([
      { Key: 'certflow:certificate', Value: 'www' },
      { Key: 'certflow:deployment', Value: 'CertflowProd' },
      { Key: 'certflow:ariCertId', Value: cert.metadata.ariCertId },
    ]);
    // The other deployment's certificate is neither re-imported nor re-tagged.
    expect(home).not.toHaveReceivedCommand(AddTagsToCertificateCommand);
    expect(home).not.toHaveReceivedCommand(RemoveTagsFromCertificateCommand);
    await expect(mine.current('www')).resolves.toEqual({ status: 'absent' });
  });

  it('with a deployment: re-imports into its own tagged certificate without tags (ACM refuses tags on re-import), keeping the deployment tag', async () => {
    homeHolds({ ari: 'old.id', deployment: 'CertflowProd' });
    home.on(ImportCertificateCommand).resolves(importCertificateResponse(EXISTING_ARN));
    const mine = new AcmCertificateStore({
      clientFor: () => homeClient,
      regions: [HOME],
      deployment: 'CertflowProd',
    });

    await expect(mine.put(issued())).resolves.toEqual({ store: 'acm', location: EXISTING_ARN });

    const input = home.commandCalls(ImportCertificateCommand)[0]?.args[0].input;
    expect(input?.CertificateArn).toBe(EXISTING_ARN);
    expect(input?.Tags).toBeUndefined();
    // Only the CertID tag changes: the deployment and certificate tags are never removed.
    for (const call of home.commandCalls(RemoveTagsFromCertificateCommand)) {
      expect(call.args[0].input.Tags).toEqual([{ Key: 'certflow:ariCertId' }]);
    }
    for (const call of home.commandCalls(AddTagsToCertificateCommand)) {
      expect(call.args[0].input.Tags?.map((t) => t.Key)).toEqual(['certflow:ariCertId']);
    }
  });

  it('imports in every region: re-import where it exists, new import elsewhere', async () => {
    homeHolds({ ari: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGy' });
    home.on(ImportCertificateCommand).resolves(importCertificateResponse(EXISTING_ARN));
    edge.on(ListCertificatesCommand).resolves(listCertificatesResponse([]));
    edge.on(ImportCertificateCommand).resolves(importCertificateResponse(NEW_ARN));

    const location = await store([HOME, EDGE]).put(issued());

    expect(location).toEqual({ store: 'acm', location: `${EXISTING_ARN}, ${NEW_ARN}` });
    expect(home).toHaveReceivedCommandWith(ImportCertificateCommand, { CertificateArn: EXISTING_ARN });
    expect(edge.commandCalls(ImportCertificateCommand)[0]?.args[0].input.CertificateArn).toBeUndefined();
    expect(home).not.toHaveReceivedCommand(AddTagsToCertificateCommand); // CertID unchanged
  });

  it('finds its certificate on a later ListCertificates page', async () => {
    home
      .on(ListCertificatesCommand)
      .resolvesOnce(listCertificatesResponse([], EXAMPLE_NEXT_TOKEN))
      .resolvesOnce(
        listCertificatesResponse([
          certificateSummary(EXISTING_ARN, 'example.com', { type: 'IMPORTED', keyAlgorithm: ENUM_EC_P256 }),
        ]),
      );
    home
      .on(ListTagsForCertificateCommand)
      .resolves(listTagsResponse([{ Key: 'certflow:certificate', Value: 'www' }]));
    home.on(ImportCertificateCommand).resolves(importCertificateResponse(EXISTING_ARN));

    await store().put(issued({ ariCertId: undefined }));

    expect(home).toHaveReceivedNthCommandWith(2, ListCertificatesCommand, { NextToken: EXAMPLE_NEXT_TOKEN });
    expect(home).toHaveReceivedCommandWith(ImportCertificateCommand, { CertificateArn: EXISTING_ARN });
  });

  it.each([
    ['hyphen, as DescribeCertificate and ListCertificates output spell it', DESCRIBED_EC_P256],
    ['underscore, the request-enum spelling', ENUM_EC_P256],
  ])(
    'a renewal (current, then put) of an EC P-256 certificate reported with a %s re-imports into the same ARN',
    async (_how, algorithm) => {
      homeHolds({ keyAlgorithm: algorithm });
      home.on(DescribeCertificateCommand, { CertificateArn: EXISTING_ARN }).resolves(describedAs(algorithm));
      home.on(ImportCertificateCommand).resolves(importCertificateResponse(EXISTING_ARN));
      const acm = store();

      await expect(acm.current('www')).resolves.toMatchObject({
        status: 'healthy',
        metadata: { name: 'www', keyType: 'ecdsa-p256' },
      });
      await expect(acm.put(issued({ keyType: 'ecdsa-p256' }))).resolves.toEqual({
        store: 'acm',
        location: EXISTING_ARN,
      });
      expect(home).toHaveReceivedCommandTimes(ImportCertificateCommand, 1);
      expect(home).toHaveReceivedCommandWith(ImportCertificateCommand, { CertificateArn: EXISTING_ARN });
    },
  );

  it.each([
    ['hyphen', DESCRIBED_RSA_2048],
    ['underscore', ENUM_RSA_2048],
  ])(
    'still refuses a real key-type change when the existing algorithm is spelled with a %s',
    async (_how, algorithm) => {
      homeHolds({ keyAlgorithm: algorithm });

      await expect(store().put(issued({ keyType: 'ecdsa-p256' }))).rejects.toThrow(
        /changed key type to ecdsa-p256.*set keyType back/,
      );
      expect(home).not.toHaveReceivedCommand(ImportCertificateCommand);
    },
  );

  it('refuses a key-type change ACM cannot re-import, before importing anywhere', async () => {
    homeHolds({ keyAlgorithm: ENUM_EC_P256 });
    edge.on(ListCertificatesCommand).resolves(listCertificatesResponse([]));

    const error = await store([EDGE, HOME])
      .put(issued({ keyType: 'rsa-2048' }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CertificateStoreError);
    expect((error as Error).message).toContain(EXISTING_ARN);
    expect((error as Error).message).toContain('set keyType back');
    expect(home).not.toHaveReceivedCommand(ImportCertificateCommand);
    expect(edge).not.toHaveReceivedCommand(ImportCertificateCommand);
  });

  it('refuses key types ACM does not import, with the fix, before any call', async () => {
    const cert = issued();
    const metadata: CertificateMetadata = JSON.parse(
      JSON.stringify({ ...cert.metadata, keyType: 'ed25519' }),
    );

    await expect(store().put({ ...cert, metadata })).rejects.toThrow(
      /^acm: ACM cannot import certificate "www" with a ed25519 key; set its keyType to one of ecdsa-p256/,
    );
    expect(home.calls()).toHaveLength(0);
  });

  it('translates an import failure with the region and no key material', async () => {
    homeHolds(undefined);
    const invalid = limitExceeded();
    home.on(ImportCertificateCommand).rejects(invalid);
    const cert = issued();

    const error = await store()
      .put(cert)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CertificateStoreError);
    expect((error as Error).message).toBe(
      'acm: ImportCertificate in eu-west-1 for certificate "www" failed: LimitExceededException: An ACM quota has been exceeded.',
    );
    expect((error as Error).cause).toBe(invalid);
    expect((error as Error).message).not.toContain('PRIVATE KEY');
  });
});

describe('AcmCertificateStore.current', () => {
  /**
   * DescribeCertificate of our imported certificate: the AWS CLI describe-certificate example
   * (test/fixtures/aws/acm.ts [CLI-DESC]) adapted to it (its ARN, names, serial 04:a1:b2, issuer,
   * dates, the P-256 key as DescribeCertificate spells it), `Type: IMPORTED` with `ImportedAt`,
   * and where a test says so another status and revocation reason ([API-DETAIL]).
   */
  const detail = (
    arn: string,
    adapt: Pick<
      Parameters<typeof describedCertificate>[0] & object,
      'serial' | 'status' | 'revocationReason' | 'keyAlgorithm'
    > = {},
  ) =>
    describeCertificateResponse(
      describedCertificate({
        arn,
        domains: ['example.com', '*.example.com'],
        keyAlgorithm: DESCRIBED_EC_P256,
        issuer: 'R11',
        serial: '04a1b2',
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2025-04-01T00:00:00Z'),
        importedAt: new Date('2025-01-01T00:05:00Z'),
        ...adapt,
      }),
    );
  const EDGE_ARN = EXAMPLE_CERTIFICATE_ARN.replace(
    '12345678-1234-1234-1234-123456789012',
    '22222222-3333-4444-5555-666666666666',
  );
  /**
   * The edge region holds our certificate too: ListCertificates and ListTagsForCertificate as in
   * the AWS CLI examples ([CLI-LIST], [CLI-TAGS]), `keyAlgorithm` in the spelling the test gives
   * (the summary's and the description's).
   */
  const edgeHolds = (adapt: Parameters<typeof detail>[1] = {}) => {
    edge.on(ListCertificatesCommand).resolves(
      listCertificatesResponse([
        certificateSummary(EDGE_ARN, 'example.com', {
          type: 'IMPORTED',
          keyAlgorithm: adapt.keyAlgorithm ?? DESCRIBED_EC_P256,
        }),
      ]),
    );
    edge
      .on(ListTagsForCertificateCommand, { CertificateArn: EDGE_ARN })
      .resolves(listTagsResponse([{ Key: 'certflow:certificate', Value: 'www' }]));
    edge.on(DescribeCertificateCommand, { CertificateArn: EDGE_ARN }).resolves(detail(EDGE_ARN, adapt));
  };
  const metadata = {
    name: 'www',
    domains: ['example.com', '*.example.com'],
    keyType: 'ecdsa-p256',
    serial: '04a1b2',
    issuer: 'R11',
    notBefore: '2025-01-01T00:00:00.000Z',
    notAfter: '2025-04-01T00:00:00.000Z',
    ariCertId: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGy',
    storedAt: '2025-01-01T00:05:00.000Z',
  };
  /** The metadata of the AWS CLI example (describedAs): its serial, colons removed, lowercase. */
  const expectedMetadata = { ...metadata, serial: '0facb0a38dea65522d7d013a3936dbd6' };

  it.each([
    ['as DescribeCertificate reports it (hyphen)', DESCRIBED_EC_P256],
    ['in the request-enum spelling (underscore)', ENUM_EC_P256],
  ])(
    'describes the tagged certificate from the home region, checking every region holds the same one, key algorithm %s',
    async (_how, keyAlgorithm) => {
      homeHolds({ ari: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGy', keyAlgorithm });
      home
        .on(DescribeCertificateCommand, { CertificateArn: EXISTING_ARN })
        .resolves(detail(EXISTING_ARN, { keyAlgorithm }));
      edgeHolds({ keyAlgorithm });

      await expect(store([HOME, EDGE]).current('www')).resolves.toEqual({ status: 'healthy', metadata });
      expect(edge).toHaveReceivedCommandWith(DescribeCertificateCommand, { CertificateArn: EDGE_ARN });
      expect(home).not.toHaveReceivedCommand(ImportCertificateCommand);
    },
  );

  it.each([
    ['as DescribeCertificate reports it (hyphen)', DESCRIBED_EC_P256],
    ['in the request-enum spelling (underscore)', ENUM_EC_P256],
  ])('describes the tagged certificate, key algorithm %s', async (_how, algorithm) => {
    homeHolds({});
    home.on(DescribeCertificateCommand, { CertificateArn: EXISTING_ARN }).resolves(describedAs(algorithm));
    await expect(store([HOME]).current('www')).resolves.toEqual({
      status: 'healthy',
      metadata: { ...expectedMetadata, ariCertId: undefined },
    });
  });

  it("reads the AWS CLI example's RSA-2048 as rsa-2048, and an algorithm certflow does not issue as broken", async () => {
    homeHolds({ keyAlgorithm: DESCRIBED_RSA_2048 });
    home
      .on(DescribeCertificateCommand)
      .resolvesOnce(describedAs(DESCRIBED_RSA_2048))
      .resolvesOnce(describedAs('RSA-1024'));
    await expect(store().current('www')).resolves.toMatchObject({
      status: 'healthy',
      metadata: { keyType: 'rsa-2048' },
    });
    await expect(store().current('www')).resolves.toMatchObject({ status: 'broken' });
  });

  it('reports absent when nothing was imported for the certificate', async () => {
    homeHolds(undefined);
    await expect(store().current('www')).resolves.toEqual({ status: 'absent' });
    expect(home).not.toHaveReceivedCommand(DescribeCertificateCommand);
  });

  it('reports broken when ACM says the certificate is not ISSUED (revoked, expired)', async () => {
    homeHolds({});
    home
      .on(DescribeCertificateCommand, { CertificateArn: EXISTING_ARN })
      .resolves(detail(EXISTING_ARN, { status: 'REVOKED', revocationReason: 'KEY_COMPROMISE' }));
    await expect(store().current('www')).resolves.toMatchObject({
      status: 'broken',
      problem: `ACM reports ${EXISTING_ARN} in ${HOME} as REVOKED (KEY_COMPROMISE)`,
    });
  });

  it('reports broken when a region lacks the certificate or holds another serial', async () => {
    homeHolds({});
    home.on(DescribeCertificateCommand, { CertificateArn: EXISTING_ARN }).resolves(detail(EXISTING_ARN));
    edge.on(ListCertificatesCommand).resolves(listCertificatesResponse([]));
    await expect(store([HOME, EDGE]).current('www')).resolves.toMatchObject({
      status: 'broken',
      problem: `not imported in ${EDGE}`,
    });

    edgeHolds({ serial: '050001' });
    await expect(store([HOME, EDGE]).current('www')).resolves.toMatchObject({
      status: 'broken',
      problem: `${EDGE} holds serial 50001 but ${HOME} holds 4a1b2`,
    });
  });

  it('reports broken when the CertID tag belongs to another serial (re-imported outside certflow)', async () => {
    // BKGy = serial 04 a1 b2; ACM now holds 0f:ac:b0...
    homeHolds({ ari: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGy' });
    home
      .on(DescribeCertificateCommand, { CertificateArn: EXISTING_ARN })
      .resolves(detail(EXISTING_ARN, { serial: '0facb0a38dea65522d7d013a3936dbd6' }));
    await expect(store().current('www')).resolves.toMatchObject({
      status: 'broken',
      problem: `the certflow:ariCertId tag of ${EXISTING_ARN} is for serial 4a1b2, but ACM holds serial facb0a38dea65522d7d013a3936dbd6 (re-imported outside certflow?)`,
    });
  });

  it('rejects options without a valid region', () => {
    expect(() => new AcmCertificateStore({ clientFor: () => homeClient, regions: [] })).toThrow(
      /^acm: list at least one region/,
    );
    expect(() => new AcmCertificateStore({ clientFor: () => homeClient, regions: ['Europe'] })).toThrow(
      /^acm: "Europe"/,
    );
  });
});
