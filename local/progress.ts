import { causeMessage } from '../lambdas/core/steps/failure';

interface Pending {
  at: number;
}

/**
 * What the printer reads from an execution event: the fields aws-local-stepfunctions' events
 * (local mode) carry, and that a Step Functions execution history translates to (`certflow run`,
 * cli/history-events.ts). Every aws-local-stepfunctions `EventLog` is one.
 */
export interface ProgressEvent {
  type: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** The Map iteration the event belongs to; absent at the top level. */
  index?: number;
  state?: { name: string; type: string; output?: unknown };
  Error?: string;
  Cause?: unknown;
}

/**
 * One line per state as the execution goes: elapsed time, certificate (inside the Map),
 * state, outcome and a short detail. Never prints state data beyond these public facts.
 */
export class ProgressPrinter {
  private readonly entered = new Map<string, Pending>();
  private certificatesByIndex: string[] = [];
  private readonly caught = new Set<string>();

  /**
   * `started`: what the elapsed column counts from (ms since the epoch); default: now.
   * `certificates`: the certificate of each Map iteration, when known from the start (a batch).
   */
  constructor(
    private readonly out: (line: string) => void,
    private readonly started: number = Date.now(),
    certificates?: string[],
    /** What the execution's own states are labelled with (`run`, or the batch). */
    private readonly label = 'run',
  ) {
    if (certificates) this.certificatesByIndex = certificates;
  }

  /** A printer for one batch's execution: same output and clock, its certificates by iteration. */
  forBatch(certificates: string[], label: string): ProgressPrinter {
    return new ProgressPrinter(this.out, this.started, certificates, label);
  }

  handle(event: ProgressEvent): void {
    if (event.state === undefined) return;
    if (event.type === 'StateEntered') {
      this.entered.set(this.key(event.state.name, event.index), { at: event.timestamp });
      return;
    }
    if (
      event.type !== 'StateExited' &&
      event.type !== 'StateFailed' &&
      event.type !== 'StateCaught' &&
      event.type !== 'StateRetried'
    ) {
      return;
    }
    const { name, type, output } = event.state;
    if (name === 'SelectDue' && event.type === 'StateExited') {
      const selection = (output as { selection?: { batches?: unknown[][] } } | undefined)?.selection;
      // The run's Map iterates over batches: one line per batch, named by its size.
      this.certificatesByIndex = (selection?.batches ?? []).map((b, i) => `batch ${i + 1} (${b.length})`);
    }
    const key = this.key(name, event.index);
    if (event.type === 'StateCaught') {
      // already printed as "failed"; the StateExited that follows a catch carries no new outcome
      this.caught.add(key);
      return;
    }
    if (event.type === 'StateExited' && this.caught.delete(key)) return;
    const since = this.entered.get(key)?.at ?? event.timestamp;
    const who =
      event.index === undefined ? this.label : (this.certificatesByIndex[event.index] ?? `#${event.index}`);
    const outcome =
      event.type === 'StateExited' ? 'ok' : event.type === 'StateRetried' ? 'retrying' : 'failed';
    const detail = this.detail(name, type, event);
    const elapsed = ((event.timestamp - this.started) / 1000).toFixed(1).padStart(6);
    this.out(
      `${elapsed}s  ${who.padEnd(20)} ${name.padEnd(22)} ${outcome.padEnd(8)} ${String(event.timestamp - since).padStart(6)} ms${detail ? `  ${detail}` : ''}`,
    );
  }

  private key(name: string, index: number | undefined): string {
    return `${index ?? 'run'}:${name}`;
  }

  private detail(name: string, type: string, event: ProgressEvent): string {
    if (event.Error) return `${event.Error}: ${firstLine(String(event.Cause ?? ''))}`;
    if (event.type !== 'StateExited') return '';
    const out = event.state?.output as Record<string, unknown> | undefined;
    switch (name) {
      case 'SelectDue': {
        const s = out?.selection as
          | { dueCount: number; batches: unknown[]; skippedCount: number; deferred?: unknown[] }
          | undefined;
        if (!s) return '';
        const deferred = s.deferred?.length ? `, ${s.deferred.length} deferred` : '';
        return `${s.dueCount} due in ${s.batches.length} batch(es), ${s.skippedCount} not due${deferred}`;
      }
      case 'CreateOrder': {
        const o = out?.order as { records: unknown[] } | undefined;
        return o ? `${o.records.length} TXT value(s) to publish` : '';
      }
      case 'CheckPropagation': {
        const p = out?.propagation as
          | { ready: boolean; checks: number; waitingFor?: string[]; leftOut?: string[] }
          | undefined;
        if (!p) return '';
        const waiting = !p.ready && p.waitingFor?.length ? `: ${p.waitingFor[0]}` : '';
        const leftOut = p.leftOut?.length ? `; left out ${p.leftOut.join('; ')}` : '';
        return `${p.ready ? 'visible at every authoritative server' : 'not visible yet'} (check ${p.checks})${waiting}${leftOut}`;
      }
      case 'CheckOrder': {
        const o = out?.orderStatus as { status: string; checks: number } | undefined;
        return o ? `order ${o.status} (check ${o.checks})` : '';
      }
      case 'FinalizeAndStore': {
        const i = out?.issued as { serial: string; notAfter: string } | undefined;
        return i ? `serial ${i.serial.slice(0, 16)}…, notAfter ${i.notAfter}` : '';
      }
      case 'Summarize': {
        const s = out?.summary as
          | { issuedCount: number; failedCount: number; skippedCount: number; deferredCount?: number }
          | undefined;
        return s
          ? `${s.issuedCount} issued, ${s.failedCount} failed, ${s.skippedCount} not due${s.deferredCount ? `, ${s.deferredCount} deferred` : ''}`
          : '';
      }
      case 'SummarizeBatch': {
        // SummarizeBatch's output is the batch summary itself (the batch execution's output).
        const b = event.state?.output as { issued?: unknown[]; failedCount?: number } | undefined;
        return b?.issued ? `${b.issued.length} issued, ${b.failedCount ?? 0} failed` : '';
      }
      default:
        return type === 'Wait' ? 'waited' : '';
    }
  }
}

function firstLine(cause: string): string {
  const text = causeMessage(cause);
  const line = text.split('\n')[0];
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
