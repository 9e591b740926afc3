import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { AlertError, errorMessage } from '../../core/errors';
import type { Alerter, CertificateFailure, RunSummary, ValuesLeftBehind } from '../../core/ports';
import { errorNameOf } from '../aws/retry';

/** Issued certificates named in a run-summary alert (the rest are counted). */
const ISSUED_LISTED = 50;
/** Options of {@link SnsAlerter}. */
export interface SnsAlerterOptions {
  /** Created once per cold start by the caller. */
  client: SNSClient;
  /** The alert topic (a standard topic). */
  topicArn: string;
  /** First word of every subject, e.g. a deployment name. Default `certflow`. */
  prefix?: string;
}

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/** SNS: subjects are under 100 characters, ASCII, no line breaks. */
const MAX_SUBJECT = 99;
/** SNS: messages are at most 256 KiB; leave room for the envelope. */
const MAX_MESSAGE_BYTES = 200 * 1024;
const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;

/**
 * Alerts on an SNS topic: one message per failed certificate, and one run summary when
 * anything failed. Each message has a plain-text part for people (email subscriptions) followed
 * by the same facts as pretty JSON for machines (the CA's RFC 8555 §6.7 / RFC 7807 problem
 * document included), and message attributes `event`, `certificate` and `step` for
 * subscription filter policies.
 */
export class SnsAlerter implements Alerter {
  private readonly client: SNSClient;
  private readonly topicArn: string;
  private readonly prefix: string;

  constructor(options: SnsAlerterOptions) {
    if (typeof options.topicArn !== 'string' || !TOPIC_ARN.test(options.topicArn)) {
      throw new AlertError(`sns: topicArn "${String(options.topicArn)}" is not a standard SNS topic ARN`);
    }
    const prefix = options.prefix ?? 'certflow';
    if (typeof prefix !== 'string' || prefix.trim() === '' || prefix.length > 40) {
      throw new AlertError('sns: prefix must be 1 to 40 characters');
    }
    this.client = options.client;
    this.topicArn = options.topicArn;
    this.prefix = prefix.trim();
  }

  /** Publish one alert for one failed certificate. */
  async certificateFailed(failure: CertificateFailure): Promise<void> {
    const lines = [
      `${this.prefix}: certificate "${failure.certificate}" failed at ${failure.step}.`,
      '',
      `Certificate: ${failure.certificate}`,
      `Step:        ${failure.step}`,
      `Error:       ${failure.error}`,
      `Message:     ${failure.message}`,
    ];
    const problem = describeProblem(failure.problem);
    if (problem) lines.push(`CA problem:  ${problem}`);
    await this.publish(
      `certificate ${failure.certificate}`,
      `${this.prefix}: ${failure.certificate} failed at ${failure.step}`,
      lines.join('\n'),
      { event: 'certificate-failed', ...failure },
      {
        event: text('certificate-failed'),
        certificate: text(failure.certificate),
        step: text(failure.step),
      },
    );
  }

  /** Publish one warning: a certificate was issued, but its Cleanup left TXT values behind. */
  async valuesLeftBehind(warning: ValuesLeftBehind): Promise<void> {
    const count = warning.left.reduce((n, l) => n + l.values, 0);
    const lines = [
      `${this.prefix}: certificate "${warning.certificate}" was issued and stored, but ${count} TXT value${count === 1 ? '' : 's'} it wrote may remain in the delegated zone.`,
      'The values stay recorded as pending; the next run removes them once the DNS provider accepts the change.',
      '',
      `Cleanup error: ${warning.error}: ${warning.message}`,
      'Values that may remain:',
      ...warning.left.map((l) => `  - ${l.fqdn} (${l.values} value${l.values === 1 ? '' : 's'})`),
    ];
    await this.publish(
      `certificate ${warning.certificate}`,
      `${this.prefix}: ${warning.certificate} issued; TXT values left behind`,
      lines.join('\n'),
      { event: 'values-left-behind', ...warning },
      { event: text('values-left-behind'), certificate: text(warning.certificate), step: text('Cleanup') },
    );
  }

  /** Publish the run summary when a certificate failed, values were left behind, or a sweep removed some. */
  async runFinished(summary: RunSummary): Promise<void> {
    const { failed } = summary;
    const warnings = summary.warnings ?? [];
    const swept = summary.swept ?? [];
    // Counts in full; the lists are bounded (a thousand-certificate run stays readable).
    const failedCount = failed.length + (summary.failedNotListed ?? 0);
    const warningCount = summary.warningCount ?? warnings.length;
    const sweptCount = summary.sweptCount ?? swept.length;
    const skippedCount = summary.skippedCount ?? summary.skipped.length;
    if (failedCount === 0 && warningCount === 0 && sweptCount === 0) return;
    const more = (listed: number, all: number) => (all > listed ? [`  ... and ${all - listed} more`] : []);
    const lines = [
      `${this.prefix}: renewal run ${summary.runId} finished with ${failedCount} failed certificate${failedCount === 1 ? '' : 's'}.`,
      `Issued: ${summary.issued.length}. Skipped: ${skippedCount}. Deferred: ${summary.deferred.length}. Failed: ${failedCount}. Values left behind: ${warningCount}. Earlier values removed: ${sweptCount}.`,
    ];
    if (failedCount > 0) {
      lines.push(
        '',
        'Failed:',
        ...failed.map((f) => `  - ${f.certificate} at ${f.step}: ${f.error}: ${f.message}`),
        ...more(failed.length, failedCount),
      );
    }
    if (warningCount > 0) {
      lines.push(
        '',
        'Issued, but TXT values may remain (removed by a later run):',
        ...warnings.map(
          (w) => `  - ${w.certificate}: ${w.left.map((l) => `${l.fqdn} (${l.values})`).join(', ')}`,
        ),
        ...more(warnings.length, warningCount),
      );
    }
    if (sweptCount > 0) {
      lines.push(
        '',
        'Removed values left by earlier runs:',
        ...swept.map(
          (w) =>
            `  - ${w.fqdn} (${w.values}) of ${w.certificate}, written by ${w.executionId}${w.reason ? ` (${w.reason})` : ''}`,
        ),
        ...more(swept.length, sweptCount),
      );
    }
    const issuedListed = summary.issued.slice(0, ISSUED_LISTED);
    if (issuedListed.length > 0) {
      lines.push(
        '',
        'Issued:',
        ...issuedListed.map((i) => `  - ${i.certificate} (valid until ${i.notAfter})`),
        ...more(issuedListed.length, summary.issued.length),
      );
    }
    await this.publish(
      `run ${summary.runId}`,
      failed.length > 0
        ? `${this.prefix}: run ${summary.runId}: ${failed.length} certificate${failed.length === 1 ? '' : 's'} failed`
        : `${this.prefix}: run ${summary.runId}: TXT values left behind or removed`,
      lines.join('\n'),
      { event: 'run-summary', ...summary },
      {
        event: text('run-summary'),
        certificate: {
          DataType: 'String.Array',
          StringValue: JSON.stringify(failed.map((f) => f.certificate)),
        },
        step: {
          DataType: 'String.Array',
          StringValue: JSON.stringify([...new Set(failed.map((f) => f.step))]),
        },
        failed: { DataType: 'Number', StringValue: String(failed.length) },
      },
    );
  }

  private async publish(
    what: string,
    subject: string,
    plain: string,
    facts: Record<string, unknown>,
    attributes: Record<string, MessageAttributeValue>,
  ): Promise<void> {
    const message = buildMessage(plain, facts);
    try {
      await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: toSubject(subject),
          Message: message,
          MessageAttributes: attributes,
        }),
      );
    } catch (error) {
      throw new AlertError(
        `sns: Publish to ${this.topicArn} for ${what} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
}

const text = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value || 'unknown',
});

/** An SNS subject: printable ASCII only, under 100 characters. */
export function toSubject(subject: string): string {
  const ascii = subject.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= MAX_SUBJECT ? ascii : `${ascii.slice(0, MAX_SUBJECT - 3)}...`;
}

/** One line for an RFC 7807 problem document: type, detail, status, and subproblems (RFC 8555 §6.7.1). */
function describeProblem(problem: unknown): string | undefined {
  if (problem === undefined || problem === null) return undefined;
  if (typeof problem !== 'object') return String(problem);
  const p = problem as Record<string, unknown>;
  const parts = [p.type, p.detail, p.status === undefined ? undefined : `status ${String(p.status)}`]
    .filter((x) => x !== undefined && x !== '')
    .map(String);
  if (Array.isArray(p.subproblems)) {
    for (const sub of p.subproblems) {
      if (sub === null || typeof sub !== 'object') continue;
      const s = sub as Record<string, unknown>;
      const id =
        s.identifier !== null && typeof s.identifier === 'object'
          ? (s.identifier as Record<string, unknown>).value
          : undefined;
      parts.push(
        `[${String(id ?? '?')}: ${String(s.type ?? '')} ${String(s.detail ?? '')}]`.replace(/\s+\]/, ']'),
      );
    }
  }
  return parts.length > 0 ? parts.join(' — ') : JSON.stringify(problem);
}

/** Plain text, then the facts as pretty JSON; PEM blocks removed; capped below the SNS size limit. */
function buildMessage(plain: string, facts: Record<string, unknown>): string {
  const redact = (s: string): string => s.replace(PEM_BLOCK, '[redacted PEM]');
  const head = truncateBytes(redact(plain), MAX_MESSAGE_BYTES / 2);
  const json = truncateBytes(
    redact(JSON.stringify(facts, null, 2)),
    MAX_MESSAGE_BYTES - Buffer.byteLength(head, 'utf8') - 64,
  );
  return `${head}\n\n--- details (JSON) ---\n${json}\n`;
}

/** `s` cut to at most `max` UTF-8 octets, marked when cut. */
function truncateBytes(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= max) return s;
  return `${bytes.subarray(0, Math.max(0, max - 20)).toString('utf8')}\n... (truncated)`;
}
