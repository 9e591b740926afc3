/**
 * How a CA's problem document (RFC 8555 §6.7, RFC 7807) travels inside an error message. Across
 * a Task boundary only the error's name and message survive (Lambda's `{errorType, errorMessage}`),
 * so the document is carried as a suffix of the message, written by {@link withProblem} and read
 * back by {@link problemInMessage}, the only two places that know its form.
 */

const OPEN = ' (CA problem: ';
const CLOSE = ')';

/** `message` with the CA's problem document appended, so alerts and reports can carry it. */
export function withProblem(message: string, problem: unknown): string {
  return `${message}${OPEN}${JSON.stringify(problem ?? null)}${CLOSE}`;
}

/** The problem document {@link withProblem} appended to `message`, if any. */
export function problemInMessage(message: string): unknown {
  const marker = message.lastIndexOf(OPEN);
  if (marker < 0 || !message.endsWith(CLOSE)) return undefined;
  try {
    return JSON.parse(message.slice(marker + OPEN.length, -CLOSE.length)) ?? undefined;
  } catch {
    return undefined;
  }
}
