import { createServer, type Server } from 'node:http';
import Module from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bundleBuildOptions, defaultProjectRoot } from '../../lib/bundling/function-bundles';
import { hostProcess } from '../../local/lambda-runtime';

/**
 * The AWS SDK is inside the bundles, minified: the errors it throws must still carry the
 * service's error names, which certflow's adapters match and the Lambda runtime reports as
 * `errorType`. Two SDK clients, bundled with the deployed bundles' esbuild options (the same
 * credential chain too: the execution role's environment variables), call a local HTTP server
 * that answers as the services document their errors, and the bundled SDK's errors are checked
 * by name, class name and fault.
 *
 * The answers (JSON protocols: HTTP 400, `__type` names the error):
 * - DynamoDB developer guide, "Error handling with DynamoDB", "Error messages and codes": the
 *   example response `HTTP/1.1 400 Bad Request`, `Content-Type: application/x-amz-json-1.0`,
 *   body `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
 *   "message":"..."}`; here with `ConditionalCheckFailedException` and the message PutItem's
 *   reference gives it ("A condition specified in the operation failed to be evaluated.").
 * - Secrets Manager API reference, GetSecretValue, Errors: `ResourceNotFoundException` "Secrets
 *   Manager can't find the resource that you asked for." HTTP Status Code: 400.
 */
describe('the bundled AWS SDK throws errors by their service names (minified, keepNames)', () => {
  let server: Server;
  let endpoint: string;
  let lib: { dynamo: (e: string) => Promise<unknown>; secret: (e: string) => Promise<unknown> };
  // The bundle runs in the host realm (as the runtime runs it): its `process` is the host's.
  const env = hostProcess().env;
  const saved = { ...env };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      req.resume();
      req.on('end', () => {
        if (target.startsWith('DynamoDB_20120810.')) {
          res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': 'r1' });
          res.end(
            JSON.stringify({
              __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
              message: 'A condition specified in the operation failed to be evaluated.',
            }),
          );
        } else {
          res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': 'r2' });
          res.end(
            JSON.stringify({
              __type: 'ResourceNotFoundException',
              Message: "Secrets Manager can't find the resource that you asked for.",
            }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const esbuild = require('esbuild') as typeof import('esbuild');
    const root = defaultProjectRoot();
    const { metafile: _m, sourcemap: _s, ...options } = bundleBuildOptions(root);
    const out = esbuild.buildSync({
      ...options,
      write: false,
      stdin: {
        resolveDir: root,
        sourcefile: 'sdk-errors-entry.ts',
        loader: 'ts',
        contents: `
          import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
          import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
          export const dynamo = (endpoint: string) =>
            new DynamoDBClient({ endpoint, region: 'eu-west-1', maxAttempts: 1 })
              .send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } }));
          export const secret = (endpoint: string) =>
            new SecretsManagerClient({ endpoint, region: 'eu-west-1', maxAttempts: 1 })
              .send(new GetSecretValueCommand({ SecretId: 's' }));
        `,
      },
    });
    const code = out.outputFiles[0].text;
    // Nothing of the SDK is left to the runtime.
    expect(code).not.toMatch(/require\(["']@aws-sdk\//);
    Object.assign(env, {
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_SESSION_TOKEN: 'token',
    });
    // Loaded as the Lambda runtime loads a bundle: a CommonJS module in the host realm (the SDK's
    // HTTP handler loads node:http with a dynamic import, which a CommonJS module may make).
    const ModuleClass = Module as unknown as {
      new (id: string): { filename: string; exports: typeof lib; _compile(c: string, f: string): void };
    };
    const file = join(root, 'sdk-errors-bundle.js');
    const mod = new ModuleClass(file);
    mod.filename = file;
    mod._compile(code, file);
    lib = mod.exports;
  });
  afterAll(async () => {
    for (const key of Object.keys(env)) if (!(key in saved)) delete env[key];
    Object.assign(env, saved);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('DynamoDB: ConditionalCheckFailedException, a client fault', async () => {
    const error = (await lib.dynamo(endpoint).catch((e: unknown) => e)) as Error & { $fault?: string };
    expect(error.name).toBe('ConditionalCheckFailedException');
    expect(error.constructor.name).toBe('ConditionalCheckFailedException');
    expect(error.$fault).toBe('client');
    expect(error.message).toBe('A condition specified in the operation failed to be evaluated.');
  });

  it('Secrets Manager: ResourceNotFoundException, a client fault', async () => {
    const error = (await lib.secret(endpoint).catch((e: unknown) => e)) as Error & { $fault?: string };
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.constructor.name).toBe('ResourceNotFoundException');
    expect(error.$fault).toBe('client');
  });

  it('without the environment variables Lambda sets, the bundled credential chain says which are missing', async () => {
    const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
    const kept = keys.map((k) => env[k]);
    for (const k of keys) delete env[k];
    try {
      const error = (await lib.secret(endpoint).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('CredentialsProviderError');
      expect(error.message).toContain('AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY');
    } finally {
      keys.forEach((k, i) => {
        env[k] = kept[i];
      });
    }
  });
});
