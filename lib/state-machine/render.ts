import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TASK_STEPS } from '../../lambdas/core/state';
import { type AslDefinition, localFunctionArn } from './asl';
import type { StepFunctions } from './definition';
import { RenewalStateMachine } from './renewal-state-machine';

export type { AslDefinition, AslState } from './asl';
export { localFunctionArn, taskStates } from './asl';

type CfnValue = string | { 'Fn::GetAtt'?: [string, string]; Ref?: string; 'Fn::Join'?: [string, CfnValue[]] };
interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/**
 * Resolve the state machine's `DefinitionString` from a synthesized template, replacing each
 * intrinsic (`Fn::GetAtt`, `Ref`) with what `resolve` returns for it.
 */
export function definitionFromTemplate(
  template: CfnTemplate,
  resolve: (intrinsic: Exclude<CfnValue, string>) => string,
): AslDefinition {
  const machines = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  if (machines.length !== 1)
    throw new Error(`expected one state machine in the template, found ${machines.length}`);
  const raw = machines[0].Properties?.DefinitionString as CfnValue;
  const flatten = (v: CfnValue): string => {
    if (typeof v === 'string') return v;
    const join = v['Fn::Join'];
    if (join) return join[1].map(flatten).join(join[0]);
    return resolve(v);
  };
  return JSON.parse(flatten(raw)) as AslDefinition;
}

/**
 * Render the definition local mode runs: synthesize the same {@link RenewalStateMachine} the
 * stack deploys, with placeholder function ARNs (see {@link localFunctionArn}).
 */
export function renderLocalDefinition(options: { maxConcurrency?: number } = {}): AslDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'CertflowLocal', { env: { account: '000000000000', region: 'us-east-1' } });
  const functions = Object.fromEntries(
    TASK_STEPS.map((step) => [
      step,
      lambda.Function.fromFunctionArn(stack, `Fn${step}`, localFunctionArn(step)),
    ]),
  ) as StepFunctions;
  new RenewalStateMachine(stack, 'Renewal', { functions, maxConcurrency: options.maxConcurrency });
  const template = app.synth().getStackByName('CertflowLocal').template as CfnTemplate;
  return definitionFromTemplate(template, (v) => {
    throw new Error(`unexpected intrinsic in the local definition: ${JSON.stringify(v)}`);
  });
}
