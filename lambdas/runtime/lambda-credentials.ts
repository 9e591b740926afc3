/**
 * The AWS SDK's default credential provider as the bundles carry it: the function's execution
 * role, from the environment variables Lambda sets for it ("AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN – The access keys obtained from the function's
 * execution role", Lambda developer guide, "Defined runtime environment variables"). The bundles
 * put this module where the SDK clients import `@aws-sdk/credential-provider-node`
 * (lib/bundling/function-bundles.ts): that chain's other sources (SSO, shared ini files, process,
 * web identity, instance metadata) and the STS/SSO clients they bring (~100 KB per bundle) are
 * never used in Lambda, where the environment variables come first in the chain and are always set.
 * Code run from sources (tests, the CLI) keeps the SDK's own chain.
 */

/** The SDK's error for "no credentials here", by name (the SDK's own class is not bundled). */
export class CredentialsProviderError extends Error {
  /** As the SDK's: the next provider of a chain may be tried. */
  readonly tryNextLink = true;
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsProviderError';
  }
}

export interface EnvCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** `defaultProvider(init)` as `@aws-sdk/credential-provider-node` exports it: a credentials function. */
export function defaultProvider(_init?: unknown): () => Promise<EnvCredentials> {
  return async () => {
    const env = process.env;
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new CredentialsProviderError(
        'Unable to find environment variable credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): Lambda sets them from the execution role.',
      );
    }
    return {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      ...(env.AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(env.AWS_CREDENTIAL_EXPIRATION) } : {}),
    };
  };
}
