import { problemInMessage } from '../ca-problem';
import type { CertificateFailure } from '../ports';

/**
 * The message inside a Task error's `Cause`: Lambda (and local mode, which mimics it) sends the
 * JSON document `{"errorType","errorMessage","trace"}`; States.* errors send plain text.
 */
export function causeMessage(cause: unknown): string {
  const text = typeof cause === 'string' ? cause : String(cause ?? '');
  try {
    const parsed = JSON.parse(text) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return text;
}

/**
 * Turn a Catch's `{Error, Cause}` into a failure record. In AWS, `Cause` is the Lambda error
 * JSON (`{"errorType","errorMessage","trace"}`); local mode produces the same shape. The CA's
 * problem document, when there is one, travels in the message ({@link problemInMessage}).
 */
export function describeFailure(
  certificate: string,
  step: string | undefined,
  error: { Error: string; Cause?: string } | undefined,
): CertificateFailure {
  const name = error?.Error ?? 'UnknownError';
  const message = causeMessage(error?.Cause);
  const problem = problemInMessage(message);
  return { certificate, step: step ?? 'unknown', error: name, message, ...(problem ? { problem } : {}) };
}
