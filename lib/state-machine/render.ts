import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import type { StepFunctions } from './definition';
import { RenewalStateMachine } from './renewal-state-machine';

/** A parsed Amazon States Language document. */
export type AslDefinition = { StartAt: string; States: Record<string, AslState> } & Record<string, unknown>;
export type AslState = { Type: string; Resource?: string } & Record<string, unknown>;

type CfnValue = string | { 'Fn::GetAtt'?: [string, string]; Ref?: string; 'Fn::Join'?: [string, CfnValue[]] };
interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** Placeholder ARN that local mode puts where the stack has the function's ARN. */
export function localFunctionArn(step: TaskStep): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:certflow-${step}`;
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

/** Every Task state, including those inside Map item processors, as [name, state]. */
export function taskStates(def: AslDefinition): [string, AslState][] {
  const out: [string, AslState][] = [];
  const walk = (states: Record<string, AslState>): void => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') out.push([name, state]);
      const processor = (state.ItemProcessor ?? state.Iterator) as
        | { States?: Record<string, AslState> }
        | undefined;
      if (processor?.States) walk(processor.States);
      for (const branch of (state.Branches as { States: Record<string, AslState> }[] | undefined) ?? [])
        walk(branch.States);
    }
  };
  walk(def.States);
  return out;
}
