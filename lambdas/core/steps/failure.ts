import type { CertificateFailure } from '../ports';

/**
 * Turn a Catch's `{Error, Cause}` into a failure record. In AWS, `Cause` is the Lambda error
 * JSON (`{"errorType","errorMessage","trace"}`); local mode produces the same shape. The CA's
 * problem document, when there is one, is embedded after "CA problem: " by OrderInvalidError.
 */
export function describeFailure(
  certificate: string,
  step: string | undefined,
  error: { Error: string; Cause?: string } | undefined,
): CertificateFailure {
  const name = error?.Error ?? 'UnknownError';
  let message = error?.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // Cause is plain text (States.* errors)
  }
  let problem: unknown;
  const marker = message.lastIndexOf('(CA problem: ');
  if (marker >= 0) {
    try {
      problem = JSON.parse(message.slice(marker + '(CA problem: '.length, -1));
    } catch {
      problem = undefined;
    }
  }
  return { certificate, step: step ?? 'unknown', error: name, message, ...(problem ? { problem } : {}) };
}
