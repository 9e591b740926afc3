import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TASK_STEPS } from '../../lambdas/core/state';
import {
  type AslDefinition,
  type CertflowDefinitions,
  LOCAL_BATCH_STATE_MACHINE_ARN,
  localFunctionArn,
} from './asl';
import type { StepFunctions } from './definition';
import { RenewalStateMachine } from './renewal-state-machine';

export type { AslDefinition, AslState } from './asl';
export { localFunctionArn, taskStates } from './asl';

type CfnValue = string | { 'Fn::GetAtt'?: [string, string]; Ref?: string; 'Fn::Join'?: [string, CfnValue[]] };
interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

export type { CertflowDefinitions } from './asl';
export { LOCAL_BATCH_STATE_MACHINE_ARN } from './asl';

/** The logical id of a state machine of the template: the run's, or the batch's (`BatchStateMachine`). */
export function stateMachineLogicalId(template: CfnTemplate, which: 'run' | 'batch'): string {
  const ids = Object.entries(template.Resources)
    .filter(
      ([id, r]) =>
        r.Type === 'AWS::StepFunctions::StateMachine' && /BatchStateMachine/.test(id) === (which === 'batch'),
    )
    .map(([id]) => id);
  if (ids.length !== 1)
    throw new Error(`expected one ${which} state machine in the template, found ${ids.length}`);
  return ids[0] as string;
}

/**
 * Resolve a state machine's `DefinitionString` from a synthesized template (the run's, or the
 * batch's), replacing each intrinsic (`Fn::GetAtt`, `Ref`) with what `resolve` returns for it.
 */
export function definitionFromTemplate(
  template: CfnTemplate,
  resolve: (intrinsic: Exclude<CfnValue, string>) => string,
  which: 'run' | 'batch' = 'run',
): AslDefinition {
  const id = stateMachineLogicalId(template, which);
  const raw = template.Resources[id]?.Properties?.DefinitionString as CfnValue;
  const flatten = (v: CfnValue): string => {
    if (typeof v === 'string') return v;
    const join = v['Fn::Join'];
    if (join) return join[1].map(flatten).join(join[0]);
    return resolve(v);
  };
  return JSON.parse(flatten(raw)) as AslDefinition;
}

/**
 * Render the definitions local mode runs: synthesize the same {@link RenewalStateMachine} the
 * stack deploys, with placeholder function ARNs (see {@link localFunctionArn}) and the batch
 * state machine's placeholder ARN ({@link LOCAL_BATCH_STATE_MACHINE_ARN}).
 */
export function renderLocalDefinitions(
  options: { maxConcurrency?: number; batchConcurrency?: number } = {},
): CertflowDefinitions {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'CertflowLocal', { env: { account: '000000000000', region: 'us-east-1' } });
  const functions = Object.fromEntries(
    TASK_STEPS.map((step) => [
      step,
      lambda.Function.fromFunctionArn(stack, `Fn${step}`, localFunctionArn(step)),
    ]),
  ) as StepFunctions;
  new RenewalStateMachine(stack, 'Renewal', {
    functions,
    maxConcurrency: options.maxConcurrency,
    batchConcurrency: options.batchConcurrency,
  });
  const template = app.synth().getStackByName('CertflowLocal').template as CfnTemplate;
  const batchId = stateMachineLogicalId(template, 'batch');
  const resolve = (v: Exclude<CfnValue, string>): string => {
    if (v.Ref === batchId) return LOCAL_BATCH_STATE_MACHINE_ARN;
    if (v.Ref === 'AWS::Partition') return 'aws';
    throw new Error(`unexpected intrinsic in the local definition: ${JSON.stringify(v)}`);
  };
  return {
    run: definitionFromTemplate(template, resolve, 'run'),
    batch: definitionFromTemplate(template, resolve, 'batch'),
  };
}

/** The run's definition alone (the `definition` command prints both; tests use this). */
export function renderLocalDefinition(
  options: { maxConcurrency?: number; batchConcurrency?: number } = {},
): AslDefinition {
  return renderLocalDefinitions(options).run;
}
