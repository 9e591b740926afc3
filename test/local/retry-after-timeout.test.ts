import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskStep } from '../../lambdas/core/state';
import type { FunctionBundle } from '../../lib/bundling/function-bundles';
import { type AslDefinition, type AslState, localFunctionArn, taskStates } from '../../lib/state-machine/asl';
import { TASK_TIMEOUT_MARGIN_SECONDS } from '../../lib/state-machine/step-settings';
import { executeLocally, stepOfResource } from '../../local/execute';
import { LocalFunction } from '../../local/lambda-runtime';
import { localDefinitions } from '../../local/local-definition';

/**
 * A Task whose function runs out of time is retried only once the earlier invocation is over,
 * and a step that checks before it writes then writes once.
 *
 * The model of AWS: Lambda stops an invocation at the function's timeout ("Timeout is the
 * maximum amount of time in seconds that a Lambda function can run", Lambda developer guide,
 * "Configure Lambda function timeout") and reports the error then (`Sandbox.Timedout`;
 * "Unhandled errors in Lambda are reported as Lambda.Unknown … These include out-of-memory
 * errors and function timeouts", Step Functions developer guide, "Handle Lambda service
 * exceptions"). Step Functions' own Task timer does not stop it: "If the task runs longer than
 * the specified seconds, this state fails with a States.Timeout error" (Task state reference),
 * and the invocation runs on. So a retry can overlap its earlier attempt only if the Task's timer
 * fires first and `States.Timeout` is retried; the definition waits longer than the function
 * may run and retries only the errors reported after the invocation ended.
 *
 * The step is PublishRecords' Task state exactly as the batch definition has it (Retry,
 * Catch-free here), with its function timeout cut to 1 s and the Task's timeout the same margin
 * beyond it. The function is a small CommonJS bundle that does what PublishRecords does to stay
 * safe to repeat: it reads what is already published and adds only what is missing. Its first
 * attempt takes 4 s, past the timeout; the retry's backoff (2 s, full jitter) would start a
 * second attempt inside those 4 s if the first were still running beside it.
 */
describe('a Task retried after its function timed out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-retry-'));
  let fn: LocalFunction | undefined;
  afterAll(async () => {
    await fn?.drain();
    rmSync(dir, { recursive: true, force: true });
  });

  const bundleSource = `
const fs = require('node:fs');
exports.handler = async (event) => {
  const started = Date.now();
  const first = !fs.existsSync(event.marker);
  if (first) fs.writeFileSync(event.marker, '');
  const zone = fs.existsSync(event.zone) ? fs.readFileSync(event.zone, 'utf8').split('\\n') : [];
  if (first) await new Promise((resolve) => setTimeout(resolve, event.slowMs));
  if (!zone.includes(event.value)) fs.appendFileSync(event.zone, event.value + '\\n');
  fs.appendFileSync(event.log, JSON.stringify({ started, ended: Date.now() }) + '\\n');
  return { published: [event.value] };
};
`;

  it('PublishRecords times out (Sandbox.Timedout), is retried after the first invocation ended, and the value is published once', async () => {
    const [, published] =
      taskStates(localDefinitions().batch).find(([name, s]) => {
        try {
          return name === 'PublishRecords' && stepOfResource(s.Resource) === 'PublishRecords';
        } catch {
          return false;
        }
      }) ?? [];
    expect(published).toBeDefined();
    const functionTimeout = 1;
    const state: AslState = {
      ...(published as AslState),
      Resource: localFunctionArn('PublishRecords'),
      TimeoutSeconds: functionTimeout + TASK_TIMEOUT_MARGIN_SECONDS,
      End: true,
    };
    delete state.Next;
    delete state.Catch;
    delete state.ResultPath;
    const definition: AslDefinition = { StartAt: 'PublishRecords', States: { PublishRecords: state } };

    const code = join(dir, 'fn');
    const file = join(code, 'index.js');
    mkdirSync(code);
    writeFileSync(file, bundleSource);
    const bundle: FunctionBundle = { step: 'PublishRecords', directory: code, file, bytes: 0, inputs: {} };
    fn = new LocalFunction(bundle, functionTimeout);
    const functions = new Proxy({} as Record<TaskStep, LocalFunction>, { get: () => fn });
    const input = {
      marker: join(dir, 'first-attempt'),
      zone: join(dir, 'zone.txt'),
      log: join(dir, 'invocations.jsonl'),
      value: 'dGVzdC12YWx1ZS1ub3QtYS1zZWNyZXQ',
      slowMs: 4000,
    };
    appendFileSync(input.log, '');

    const result = await executeLocally(definition, input, { functions });

    expect(result.status).toBe('SUCCEEDED');
    // One failed attempt, Lambda's timeout (not the Task's States.Timeout), and one retry.
    const failures = result.events.flatMap((e) =>
      e.type === 'StateFailed' ? [`failed ${e.Error}`] : e.type === 'StateRetried' ? ['retried'] : [],
    );
    expect(failures).toEqual(['failed Sandbox.Timedout', 'retried']);
    const invocations = readFileSync(input.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { started: number; ended: number });
    expect(invocations).toHaveLength(2);
    const [first, retry] = [...invocations].sort((a, b) => a.started - b.started);
    // The first attempt ran on past its 1 s timeout (in-process it cannot be stopped) ...
    expect(first.ended - first.started).toBeGreaterThanOrEqual(4000);
    // ... and the retry started only after it ended: no overlap.
    expect(retry.started).toBeGreaterThanOrEqual(first.ended);
    // The value is in the zone once.
    expect(readFileSync(input.zone, 'utf8')).toBe(`${input.value}\n`);
    expect(existsSync(input.marker)).toBe(true);
  }, 60_000);
});
