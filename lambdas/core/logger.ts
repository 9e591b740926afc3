import type { Logger } from './ports';

const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;
const SECRET_FIELD = /(private|secret|password|hmac|passphrase|keypem|^key$)/i;

/** Replace PEM blocks and secret-looking fields, recursively. Never trust callers alone. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[truncated]';
  if (typeof value === 'string') return value.replace(PEM, '[redacted PEM]');
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) {
    // Keep what locates a failure (OS code and the cause chain), never the stack.
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: redact(value.message, depth + 1),
      ...(typeof code === 'string' ? { code } : {}),
      ...(value.cause === undefined ? {} : { cause: redact(value.cause, depth + 1) }),
    };
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1),
      ]),
    );
  }
  return value;
}

/** A JSON-lines logger (one object per line: CloudWatch Logs Insights friendly) with redaction. */
export class JsonLogger implements Logger {
  constructor(
    private readonly write: (line: string) => void,
    private readonly base: Record<string, unknown> = {},
  ) {}

  child(fields: Record<string, unknown>): JsonLogger {
    return new JsonLogger(this.write, { ...this.base, ...fields });
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log('error', message, fields);
  }

  private log(level: string, message: string, fields?: Record<string, unknown>): void {
    const entry = redact({ time: new Date().toISOString(), level, ...this.base, message, ...fields });
    this.write(JSON.stringify(entry));
  }
}
