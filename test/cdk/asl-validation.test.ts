import aslValidator from 'asl-validator';
import { CfnResolver, type Template } from '../support/cfn-resolve';
import { ACCOUNT, exampleConfig, REGION, synth } from './synth';

/**
 * The definition the stack deploys, as Step Functions receives it (the template's
 * DefinitionString with every intrinsic resolved to concrete ARNs), is valid Amazon States
 * Language according to asl-validator: JSON schema of every state, transitions and terminal
 * states, JSONPath syntax, and ARN-shaped Task resources.
 */
describe('synthesized state machine definition', () => {
  const { json } = synth(exampleConfig());
  const template = json as unknown as Template;
  const [machine] = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  const cfn = new CfnResolver(template, {
    partition: 'aws',
    region: REGION,
    account: ACCOUNT,
    stackName: 'CertflowTest',
  });
  const definition = JSON.parse(String(cfn.resolve(machine?.Properties?.DefinitionString))) as {
    States: Record<string, Record<string, unknown>>;
  };

  it('is valid ASL (asl-validator, with JSONPath and ARN checks)', () => {
    const result = aslValidator(definition, { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
    // What was validated is the deployed definition: Lambda tasks with concrete function ARNs.
    expect(JSON.stringify(definition)).toContain(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:`);
    expect(JSON.stringify(definition)).not.toMatch(/Fn::|"Ref"/);
  });

  it.each([
    [
      'a transition to a missing state',
      { Next: 'NoSuchState' },
      /MISSING_TRANSITION_TARGET.*NoSuchState|NoSuchState/,
    ],
    ['a malformed ResultPath', { ResultPath: '$..[' }, /ResultPath/],
  ])('the validator rejects a copy with %s', (_what, change, message) => {
    const broken = structuredClone(definition);
    const state = Object.values(broken.States).find((s) => typeof s.Next === 'string');
    expect(state).toBeDefined();
    Object.assign(state as Record<string, unknown>, change);
    const result = aslValidator(broken, { checkPaths: true, checkArn: true });
    expect(result.isValid).toBe(false);
    expect(result.errorsText('\n')).toMatch(message);
  });
});
