/**
 * An AWS SDK v3 request handler that answers from canned HTTP responses and records every
 * request: the SDK's own middleware (endpoint resolution, signing, retries, error parsing) runs
 * for real, only the network is replaced. Use it to count what reaches AWS.
 */
import { Readable } from 'node:stream';

export interface CannedHttpResponse {
  statusCode: number;
  headers: Readonly<Record<string, string>>;
  body: string;
}

/** The request fields the tests read (a subset of Smithy's HttpRequest). */
export interface RecordedRequest {
  method: string;
  hostname: string;
  path: string;
  headers: Record<string, string>;
}

/** AWS's documented example credentials (IAM User Guide), so requests are signed offline. */
export const EXAMPLE_CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

export class RecordingHttpHandler {
  readonly requests: RecordedRequest[] = [];
  constructor(private readonly answer: (attempt: number, request: RecordedRequest) => CannedHttpResponse) {}

  async handle(request: RecordedRequest): Promise<{ response: unknown }> {
    const recorded: RecordedRequest = {
      method: request.method,
      hostname: request.hostname,
      path: request.path,
      headers: { ...request.headers },
    };
    this.requests.push(recorded);
    const canned = this.answer(this.requests.length, recorded);
    return {
      response: {
        statusCode: canned.statusCode,
        reason: undefined,
        headers: { ...canned.headers },
        body: Readable.from([Buffer.from(canned.body, 'utf8')]),
      },
    };
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}

/** The credential-scope region and service of a SigV4 `authorization` header. */
export function signingScope(request: RecordedRequest): { region: string; service: string } | undefined {
  const auth = request.headers.authorization ?? request.headers.Authorization ?? '';
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  return m ? { region: m[1] as string, service: m[2] as string } : undefined;
}
