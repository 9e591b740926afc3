import {
  ACMClient,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  type Tag,
} from '@aws-sdk/client-acm';
import { CertificateStoreError, errorMessage } from '../../../core/errors';
import type { StoredCertificate } from '../../../core/ports';
import { errorNameOf } from '../../aws/retry';
import { ACM_CERTIFICATE_TAG, ALL_KEY_ALGORITHMS, toMetadata } from './acm-store';

/** An ACM client for the operator CLI. */
export function createAcmClient(region: string): ACMClient {
  return new ACMClient({ region, maxAttempts: 5 });
}

/**
 * Read-only view of the certflow certificates in ACM in one region, for reporting on many
 * certificates at once (`certflow status`). {@link AcmCertificateStore.current} lists every
 * certificate and its tags on each call, which is right for one renewal but costs O(n²) calls
 * for n certificates; this lists them and their tags once (ListCertificates,
 * ListTagsForCertificate), then describes only the certificates asked for. Same metadata as the
 * store's `current()`.
 */
export class AcmCertificateReader {
  readonly kind = 'acm';
  private inventory: Promise<Map<string, { arn: string; tags: Tag[] }>> | undefined;

  constructor(
    private readonly client: ACMClient,
    private readonly region: string,
    private readonly concurrency = 4,
  ) {}

  /** The certificate imported for `name`, or undefined when there is none. */
  async current(name: string): Promise<StoredCertificate> {
    this.inventory ??= this.list();
    const found = (await this.inventory).get(name);
    if (!found) return { status: 'absent' };
    const res = await this.call('DescribeCertificate', name, () =>
      this.client.send(new DescribeCertificateCommand({ CertificateArn: found.arn })),
    );
    const metadata = res.Certificate ? toMetadata(name, res.Certificate, found.tags) : undefined;
    if (!metadata) {
      return {
        status: 'broken',
        problem: `${found.arn} in ${this.region} has a key algorithm or validity certflow cannot read`,
      };
    }
    if (res.Certificate?.Status && res.Certificate.Status !== 'ISSUED') {
      return {
        status: 'broken',
        problem: `ACM reports ${found.arn} in ${this.region} as ${res.Certificate.Status}`,
        metadata,
      };
    }
    return { status: 'healthy', metadata };
  }

  private async list(): Promise<Map<string, { arn: string; tags: Tag[] }>> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('ListCertificates', '*', () =>
        this.client.send(
          new ListCertificatesCommand({
            Includes: { keyTypes: ALL_KEY_ALGORITHMS },
            MaxItems: 1000,
            NextToken: nextToken,
          }),
        ),
      );
      for (const s of page.CertificateSummaryList ?? []) {
        if (s.CertificateArn && (s.Type === undefined || s.Type === 'IMPORTED')) arns.push(s.CertificateArn);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    const byName = new Map<string, { arn: string; tags: Tag[] }>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < arns.length) {
        const arn = arns[next++] as string;
        const res = await this.call('ListTagsForCertificate', arn, () =>
          this.client.send(new ListTagsForCertificateCommand({ CertificateArn: arn })),
        );
        const tags = res.Tags ?? [];
        const name = tags.find((t) => t.Key === ACM_CERTIFICATE_TAG)?.Value;
        if (name) byName.set(name, { arn, tags });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, arns.length) }, worker));
    return byName;
  }

  private async call<T>(operation: string, subject: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new CertificateStoreError(
        `acm: ${operation} in ${this.region} (${subject}) failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
}
