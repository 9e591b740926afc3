/**
 * Logs and metrics of a function, through Powertools for AWS Lambda (TypeScript): the Logger for
 * structured JSON lines, the Metrics utility for CloudWatch embedded metric format (EMF). Both
 * write through a sink: standard output in Lambda (where CloudWatch Logs keeps the lines and
 * extracts the EMF metrics), files in local mode (`CERTFLOW_LOG_FILE`, `CERTFLOW_METRICS_FILE` in
 * the run directory). The core sees only the `Logger` and `Metrics` ports.
 *
 * Every line goes through the core's `redact` first (PEM blocks and secret-named fields), and
 * errors are logged as `{name, message, code, cause}`, never with a stack.
 */
import { appendFileSync } from 'node:fs';
import { type LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { errorText } from '../core/errors';
import { redact } from '../core/logger';
import { SERVICE_DIMENSION } from '../core/metrics';
import type { Logger, Metrics, MetricUnit } from '../core/ports';
import { ENV } from './env';

/** Where lines go: one JSON document per call. */
export type Sink = (line: string) => void;

/**
 * The process event a sink emits when it cannot write its file (a full disk, a removed
 * directory): `{file, error}`. Local mode listens for it and names the file in its report.
 */
export const UNWRITABLE_EVENT = 'certflow:unwritable';

/** What {@link UNWRITABLE_EVENT} carries: the file and the OS error's text (code, description). */
export interface UnwritableFile {
  file: string;
  error: string;
}

/**
 * Append to `file`, or write to standard output when there is none (Lambda). A line that
 * cannot be written is dropped: a log or a metric never fails a step (a stored certificate
 * stays issued). The first failure per file is told once, with the path and the OS error:
 * to whoever listens for {@link UNWRITABLE_EVENT} on the process (local mode), else on stderr.
 */
export function sinkTo(file: string | undefined): Sink {
  if (!file) {
    return (line) => {
      process.stdout.write(`${line}\n`);
    };
  }
  let told = false;
  return (line) => {
    try {
      appendFileSync(file, `${line}\n`);
    } catch (error) {
      if (told) return;
      told = true;
      const event: UnwritableFile = { file, error: errorText(error) };
      if (process.listenerCount(UNWRITABLE_EVENT) > 0) {
        (process as NodeJS.EventEmitter).emit(UNWRITABLE_EVENT, event);
      } else {
        process.stderr.write(`certflow: cannot write ${file} (${event.error}); going on without it\n`);
      }
    }
  };
}

/** The log sink: `CERTFLOW_LOG_FILE` (local mode) or standard output. */
export function logSink(): Sink {
  return sinkTo(process.env[ENV.logFile]);
}

/** The metrics sink: `CERTFLOW_METRICS_FILE`, else the log file (local mode), else standard output. */
export function metricsSink(): Sink {
  return sinkTo(process.env[ENV.metricsFile] ?? process.env[ENV.logFile]);
}

/** Powertools' Logger, printing through a {@link Sink} instead of its own console. */
class SinkLogger extends PowertoolsLogger {
  private sink: Sink = logSink();

  static to(sink: Sink): SinkLogger {
    const logger = new SinkLogger({ serviceName: SERVICE_DIMENSION.service });
    logger.sink = sink;
    return logger;
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

/**
 * Keys Powertools' Logger owns on every line (it drops them from a call's fields): a field of
 * that name is kept under another: a failure's `message` (its error text) as `detail`, the
 * others as `<key>Field`.
 */
const RESERVED_KEYS: Record<string, string> = {
  level: 'levelField',
  message: 'detail',
  sampling_rate: 'sampling_rateField',
  service: 'serviceField',
  timestamp: 'timestampField',
};

function redactedFields(fields: Record<string, unknown>): Record<string, unknown> {
  const redacted = redact(fields) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(redacted).map(([k, v]) => [RESERVED_KEYS[k] ?? k, v]));
}

/**
 * The core's {@link Logger} over Powertools' Logger, with fixed fields on every line (the step,
 * the execution, the certificate). Each invocation gets its own (see {@link withFields}), so
 * concurrent invocations of one loaded bundle (local mode runs a Map's iterations at once) never
 * share keys.
 */
export class PowertoolsLogAdapter implements Logger {
  private constructor(
    private readonly logger: PowertoolsLogger,
    private readonly fields: Record<string, unknown>,
  ) {}

  /** A logger writing to `sink` with `fields` on every line. */
  static create(sink: Sink, fields: Record<string, unknown> = {}): PowertoolsLogAdapter {
    return new PowertoolsLogAdapter(SinkLogger.to(sink), fields);
  }

  /** The same logger with more fields on every line. */
  withFields(fields: Record<string, unknown>): PowertoolsLogAdapter {
    return new PowertoolsLogAdapter(this.logger, { ...this.fields, ...fields });
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.logger.info(String(redact(message)), redactedFields({ ...this.fields, ...fields }));
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.logger.warn(String(redact(message)), redactedFields({ ...this.fields, ...fields }));
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.logger.error(String(redact(message)), redactedFields({ ...this.fields, ...fields }));
  }
}

interface Recorded {
  name: string;
  unit: MetricUnit;
  value: number;
  dimensions: Record<string, string>;
}

/** EMF allows 100 values per metric in one document; stay below. */
const VALUES_PER_DOCUMENT = 90;

/**
 * The core's {@link Metrics} over Powertools' Metrics: values are kept for the invocation and
 * {@link flush}ed when it ends, one EMF document per set of dimension values (CloudWatch reads the
 * dimension values from the document's root, so a document holds one certificate's, or one
 * step's, values). Every document carries the `service` dimension.
 */
export class EmfMetrics implements Metrics {
  private readonly recorded: Recorded[] = [];
  private readonly emf: PowertoolsMetrics;

  constructor(
    namespace: string,
    private readonly sink: Sink,
  ) {
    this.emf = new PowertoolsMetrics({ namespace, serviceName: SERVICE_DIMENSION.service });
  }

  add(name: string, unit: MetricUnit, value: number, dimensions: Record<string, string> = {}): void {
    if (!Number.isFinite(value)) return;
    const clean = Object.fromEntries(Object.entries(dimensions).filter(([, v]) => v.trim() !== ''));
    this.recorded.push({ name, unit, value, dimensions: clean });
  }

  /** Write every recorded value (and forget them). Synchronous: no invocation interleaves. */
  flush(): void {
    const groups = new Map<string, Recorded[]>();
    for (const r of this.recorded.splice(0)) {
      const key = JSON.stringify(Object.entries(r.dimensions).sort(([a], [b]) => a.localeCompare(b)));
      const group = groups.get(key) ?? [];
      group.push(r);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += VALUES_PER_DOCUMENT) {
        const chunk = group.slice(i, i + VALUES_PER_DOCUMENT);
        try {
          for (const [k, v] of Object.entries(chunk[0].dimensions)) this.emf.addDimension(k, v);
          for (const r of chunk) this.emf.addMetric(r.name, r.unit, r.value);
          this.sink(JSON.stringify(this.emf.serializeMetrics()));
        } finally {
          this.emf.clearMetrics();
          this.emf.clearDimensions();
        }
      }
    }
  }
}
