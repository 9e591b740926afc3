import { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { buildRenewalDefinition, type StepFunctions } from './definition';

export interface RenewalStateMachineProps {
  /** One function per Task state. */
  readonly functions: StepFunctions;
  /** Certificates issued at once. @default 4 */
  readonly maxConcurrency?: number;
  /** Execution logging (deploy only; does not change the definition). */
  readonly logs?: sfn.LogOptions & { destination: logs.ILogGroup };
  /** X-Ray tracing. @default false */
  readonly tracingEnabled?: boolean;
}

/**
 * The renewal state machine: a Standard workflow in JSONPath. The stack deploys it; local
 * mode synthesizes this same construct with placeholder function ARNs and runs the result.
 */
export class RenewalStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: RenewalStateMachineProps) {
    super(scope, id);
    const definition = buildRenewalDefinition(this, props.functions, {
      maxConcurrency: props.maxConcurrency,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.hours(6),
      comment: 'certflow renewal run: select due certificates, issue each over ACME dns-01, summarize',
      logs: props.logs,
      tracingEnabled: props.tracingEnabled ?? false,
    });
  }
}
