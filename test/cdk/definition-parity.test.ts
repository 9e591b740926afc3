import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import {
  definitionFromTemplate,
  LOCAL_BATCH_STATE_MACHINE_ARN,
  localFunctionArn,
  renderLocalDefinitions,
  stateMachineLogicalId,
  taskStates,
} from '../../lib/state-machine/render';
import { exampleConfig, synth } from './synth';

/**
 * Local mode must run the definitions the stack deploys (the run, and the batch it starts per
 * batch). Synthesize the real stack, resolve each DefinitionString with each function's ARN
 * replaced by the local placeholder of the step that function serves (read from its
 * CERTFLOW_STEP variable) and the batch state machine's by its local placeholder, and compare
 * with what local mode runs.
 */
describe('the definitions local mode runs', () => {
  const config = exampleConfig();
  const { json } = synth(config);
  const batchId = stateMachineLogicalId(json, 'batch');

  const resolve = (intrinsic: Parameters<Parameters<typeof definitionFromTemplate>[1]>[0]): string => {
    if (intrinsic.Ref === 'AWS::Partition') return 'aws';
    if (intrinsic.Ref === batchId) return LOCAL_BATCH_STATE_MACHINE_ARN;
    const getAtt = intrinsic['Fn::GetAtt'];
    if (getAtt?.[1] !== 'Arn') throw new Error(`unexpected intrinsic ${JSON.stringify(intrinsic)}`);
    const fn = json.Resources[getAtt[0]];
    expect(fn?.Type).toBe('AWS::Lambda::Function');
    const env = (fn?.Properties?.Environment as { Variables?: Record<string, string> } | undefined)
      ?.Variables;
    const step = env?.CERTFLOW_STEP as TaskStep;
    expect(TASK_STEPS).toContain(step);
    return localFunctionArn(step);
  };
  const deployed = {
    run: definitionFromTemplate(json, resolve, 'run'),
    batch: definitionFromTemplate(json, resolve, 'batch'),
  };

  it('are the synthesized template definitions, ARNs aside', () => {
    expect(
      renderLocalDefinitions({
        maxConcurrency: config.renewal.maxConcurrency,
        batchConcurrency: config.renewal.batchConcurrency,
      }),
    ).toEqual(deployed);
  });

  it('call one function per step, each Task the function of its own step; the run starts the batch', () => {
    const byState = Object.fromEntries(
      [...taskStates(deployed.run), ...taskStates(deployed.batch)].map(([name, state]) => [
        name,
        state.Resource,
      ]),
    );
    for (const step of TASK_STEPS) expect(byState[step]).toBe(localFunctionArn(step));
    expect(byState.CleanupAfterFailure).toBe(localFunctionArn('Cleanup'));
    expect(byState.RecordRunFailure).toBe(localFunctionArn('RecordFailure'));
    expect(byState.SweepLeftovers).toBe(localFunctionArn('Cleanup'));
    expect(byState.RecordValuesLeft).toBe(localFunctionArn('RecordFailure'));
    expect(byState.SummarizeBatch).toBe(localFunctionArn('Summarize'));
    expect(byState.BatchFailed).toBe(localFunctionArn('Summarize'));
    expect(byState.RunBatch).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(Object.keys(byState)).toHaveLength(TASK_STEPS.length + 7);
  });
});
