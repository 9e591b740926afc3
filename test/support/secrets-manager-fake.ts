/**
 * Secrets Manager at the SDK boundary (aws-sdk-client-mock) for the adapters that create
 * secrets at run time. Every response is the example response of AWS's Secrets Manager API
 * reference (also in the SDK's generated docs, node_modules/@aws-sdk/client-secrets-manager/
 * dist-types/commands/<Command>Command.d.ts, "@example"), with only the secret's name, ARN and
 * value replaced by the ones the test uses; errors are the documented error types and texts.
 * The fake keeps the documented behaviour: CreateSecret fails with ResourceExistsException for a
 * name in use; PutSecretValue and GetSecretValue fail with ResourceNotFoundException for a
 * secret that does not exist.
 */
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  type SecretsManagerClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-secrets-manager';
import type { AwsStub } from 'aws-sdk-client-mock';
import { resourceExists, resourceNotFound } from '../fixtures/aws/secrets-manager';

/** A secret as the fake keeps it. */
export interface FakeSecret {
  name: string;
  arn: string;
  kmsKeyId?: string;
  tags: { Key?: string; Value?: string }[];
  /** Values, oldest first; the last is AWSCURRENT. */
  values: string[];
}

// The ARN of a secret named MyTestDatabaseSecret in the examples, with our name in its place.
// Source: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html#API_CreateSecret_Examples
const arnOf = (name: string): string => `arn:aws:secretsmanager:us-west-2:123456789012:secret:${name}-a1b2c3`;

// The documented errors (ResourceNotFoundException, ResourceExistsException), shared with the
// IAM harness's fake: test/fixtures/aws/secrets-manager.ts names their sources.
export { resourceExists, resourceNotFound };

/** Install the fake on a mocked client; returns the secrets by name. */
export function installSecretsFake(
  sm: AwsStub<ServiceInputTypes, ServiceOutputTypes, SecretsManagerClientResolvedConfig>,
): Map<string, FakeSecret> {
  const secrets = new Map<string, FakeSecret>();
  const find = (id: string | undefined): FakeSecret | undefined =>
    [...secrets.values()].find((s) => s.name === id || s.arn === id);

  sm.on(CreateSecretCommand).callsFake(async (input: CreateSecretCommandInput) => {
    const name = String(input.Name);
    if (secrets.has(name)) throw resourceExists();
    secrets.set(name, {
      name,
      arn: arnOf(name),
      kmsKeyId: input.KmsKeyId,
      tags: input.Tags ?? [],
      values: input.SecretString === undefined ? [] : [input.SecretString],
    });
    // Example response of "To create a basic secret".
    // Source: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html#API_CreateSecret_Examples
    return {
      ARN: arnOf(name),
      Name: name,
      VersionId: 'EXAMPLE1-90ab-cdef-fedc-ba987SECRET1',
    };
  });

  sm.on(PutSecretValueCommand).callsFake(async (input: PutSecretValueCommandInput) => {
    const secret = find(input.SecretId);
    if (!secret) throw resourceNotFound();
    secret.values.push(String(input.SecretString));
    // Example response of "To store a secret value in a new version of a secret".
    // Source: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html#API_PutSecretValue_Examples
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: 'EXAMPLE2-90ab-cdef-fedc-ba987EXAMPLE',
      VersionStages: ['AWSCURRENT'],
    };
  });

  sm.on(GetSecretValueCommand).callsFake(async (input: GetSecretValueCommandInput) => {
    const secret = find(input.SecretId);
    const value = secret?.values[secret.values.length - 1];
    if (!secret || value === undefined) throw resourceNotFound();
    // Example response of "To retrieve the encrypted secret value of a secret" (its SecretString
    // replaced by the stored value, its stage by AWSCURRENT, which is what GetSecretValue reads).
    // Source: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html#API_GetSecretValue_Examples
    return {
      ARN: secret.arn,
      CreatedDate: new Date(1.523477145713e12),
      Name: secret.name,
      SecretString: value,
      VersionId: 'EXAMPLE1-90ab-cdef-fedc-ba987SECRET1',
      VersionStages: ['AWSCURRENT'],
    };
  });
  return secrets;
}
