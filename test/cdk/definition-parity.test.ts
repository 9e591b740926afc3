import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import {
  definitionFromTemplate,
  localFunctionArn,
  renderLocalDefinition,
  taskStates,
} from '../../lib/state-machine/render';
import { exampleConfig, synth } from './synth';

/**
 * Local mode must run the definition the stack deploys. Synthesize the real stack, resolve its
 * DefinitionString with each function's ARN replaced by the local placeholder of the step that
 * function serves (read from its CERTFLOW_STEP variable), and compare with what local mode runs.
 */
describe('the definition local mode runs', () => {
  const config = exampleConfig();
  const { json } = synth(config);

  const deployed = definitionFromTemplate(json, (intrinsic) => {
    const getAtt = intrinsic['Fn::GetAtt'];
    if (getAtt?.[1] !== 'Arn') throw new Error(`unexpected intrinsic ${JSON.stringify(intrinsic)}`);
    const fn = json.Resources[getAtt[0]];
    expect(fn?.Type).toBe('AWS::Lambda::Function');
    const env = (fn?.Properties?.Environment as { Variables?: Record<string, string> } | undefined)
      ?.Variables;
    const step = env?.CERTFLOW_STEP as TaskStep;
    expect(TASK_STEPS).toContain(step);
    return localFunctionArn(step);
  });

  it('is the synthesized template definition, ARNs aside', () => {
    expect(renderLocalDefinition({ maxConcurrency: config.renewal.maxConcurrency })).toEqual(deployed);
  });

  it('calls one function per step, each Task the function of its own step', () => {
    const byState = Object.fromEntries(taskStates(deployed).map(([name, state]) => [name, state.Resource]));
    for (const step of TASK_STEPS) expect(byState[step]).toBe(localFunctionArn(step));
    expect(byState.CleanupAfterFailure).toBe(localFunctionArn('Cleanup'));
    expect(byState.RecordRunFailure).toBe(localFunctionArn('RecordFailure'));
    expect(byState.SweepLeftovers).toBe(localFunctionArn('Cleanup'));
    expect(byState.RecordValuesLeft).toBe(localFunctionArn('RecordFailure'));
    expect(Object.keys(byState)).toHaveLength(TASK_STEPS.length + 4);
  });
});
