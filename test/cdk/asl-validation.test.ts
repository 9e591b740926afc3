import aslValidator from 'asl-validator';
import { CfnResolver, type Template } from '../support/cfn-resolve';
import { ACCOUNT, exampleConfig, REGION, synth } from './synth';

type State = Record<string, unknown>;
interface Definition {
  States: Record<string, State>;
}

/** Every state of a definition, nested ones (a Map's ItemProcessor, a Parallel's branches) included. */
function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, s]) => [
    [name, s] as [string, State],
    ...allStates((s.ItemProcessor as Definition | undefined)?.States ?? {}),
    ...allStates((s.Iterator as Definition | undefined)?.States ?? {}),
    ...((s.Branches as Definition[] | undefined) ?? []).flatMap((b) => allStates(b.States)),
  ]);
}

/**
 * Every definition the stack deploys, as Step Functions receives it (each state machine's
 * DefinitionString with every intrinsic resolved to concrete ARNs), is valid Amazon States
 * Language according to asl-validator: JSON schema of every state, transitions and terminal
 * states, JSONPath syntax, and ARN-shaped Task resources. The stack has two state machines: the
 * run's (SelectDue, SweepLeftovers, IssueBatches whose RunBatch starts a batch execution,
 * Summarize) and the batch's (the certificates' Task states); both are validated.
 */
describe('synthesized state machine definitions', () => {
  const { json } = synth(exampleConfig());
  const template = json as unknown as Template;
  const cfn = new CfnResolver(template, {
    partition: 'aws',
    region: REGION,
    account: ACCOUNT,
    stackName: 'CertflowTest',
  });
  const machines = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id, r]) => ({
      id,
      arn: String(cfn.resolve({ Ref: id })),
      definition: JSON.parse(String(cfn.resolve(r.Properties?.DefinitionString))) as Definition,
    }));
  const named = (state: string) => {
    const found = machines.find((m) => allStates(m.definition.States).some(([n]) => n === state));
    if (!found) throw new Error(`no state machine has a state ${state}`);
    return found;
  };
  const run = named('RunBatch');
  const batch = named('FinalizeAndStore');

  it('the template holds two state machines: the run, whose RunBatch starts the batch machine, and the batch', () => {
    expect(machines).toHaveLength(2);
    expect(run.id).not.toBe(batch.id);
    const runBatch = allStates(run.definition.States).find(([n]) => n === 'RunBatch')?.[1] as State;
    expect(runBatch.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect((runBatch.Parameters as Record<string, unknown>).StateMachineArn).toBe(batch.arn);
    expect(batch.arn).toMatch(new RegExp(`^arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:`));
  });

  it.each([
    ['the run state machine (with RunBatch)', () => run],
    ['the batch state machine', () => batch],
  ])('%s is valid ASL (asl-validator, with JSONPath and ARN checks)', (_which, machine) => {
    const { definition } = machine();
    const result = aslValidator(definition, { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
    // What was validated is the deployed definition: Lambda tasks with concrete function ARNs.
    expect(JSON.stringify(definition)).toContain(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:`);
    expect(JSON.stringify(definition)).not.toMatch(/Fn::|"Ref"/);
  });

  describe.each([
    ['the run state machine', () => run],
    ['the batch state machine', () => batch],
  ])('the validator rejects a broken copy of %s', (_which, machine) => {
    it.each([
      [
        'a transition to a missing state',
        { Next: 'NoSuchState' },
        /MISSING_TRANSITION_TARGET.*NoSuchState|NoSuchState/,
      ],
      ['a malformed ResultPath', { ResultPath: '$..[' }, /ResultPath/],
    ])('with %s', (_what, change, message) => {
      const broken = structuredClone(machine().definition);
      const state = Object.values(broken.States).find((s) => typeof s.Next === 'string');
      expect(state).toBeDefined();
      Object.assign(state as State, change);
      const result = aslValidator(broken, { checkPaths: true, checkArn: true });
      expect(result.isValid).toBe(false);
      expect(result.errorsText('\n')).toMatch(message);
    });
  });

  // RunBatch sits inside the IssueBatches Map (its ItemProcessor): the validator reaches nested states.
  it('the validator rejects a copy of the run state machine whose RunBatch (inside the Map) has a malformed ResultPath', () => {
    const broken = structuredClone(run.definition);
    const runBatch = allStates(broken.States).find(([n]) => n === 'RunBatch')?.[1] as State;
    runBatch.ResultPath = '$..[';
    const result = aslValidator(broken, { checkPaths: true, checkArn: true });
    expect(result.isValid).toBe(false);
    expect(result.errorsText('\n')).toMatch(/ResultPath/);
  });
});
