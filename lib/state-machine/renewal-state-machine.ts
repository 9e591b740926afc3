import { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { buildBatchDefinition, buildRenewalDefinition, type StepFunctions } from './definition';

export interface RenewalStateMachineProps {
  /** One function per Task state. */
  readonly functions: StepFunctions;
  /** Certificates issued at once in a batch. @default 4 */
  readonly maxConcurrency?: number;
  /** Batches issued at once. @default 1 */
  readonly batchConcurrency?: number;
  /** Execution logging (deploy only; does not change the definition). */
  readonly logs?: sfn.LogOptions & { destination: logs.ILogGroup };
  /** X-Ray tracing. @default false */
  readonly tracingEnabled?: boolean;
}

/**
 * The renewal state machines, Standard workflows in JSONPath: the run (`stateMachine`, started by
 * the schedule or by hand) and the batch (`batchStateMachine`, one execution per batch of due
 * certificates, started by the run). The stack deploys them; local mode synthesizes this same
 * construct with placeholder ARNs and runs the result.
 */
export class RenewalStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly batchStateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: RenewalStateMachineProps) {
    super(scope, id);
    const batchScope = new Construct(this, 'Batch');
    this.batchStateMachine = new sfn.StateMachine(this, 'BatchStateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        buildBatchDefinition(batchScope, props.functions, { maxConcurrency: props.maxConcurrency }),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.hours(6),
      comment:
        'certflow batch: issue one batch of due certificates over ACME dns-01 (started by the renewal run)',
      logs: props.logs,
      tracingEnabled: props.tracingEnabled ?? false,
    });
    const definition = buildRenewalDefinition(this, props.functions, this.batchStateMachine, {
      maxConcurrency: props.maxConcurrency,
      batchConcurrency: props.batchConcurrency,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.hours(6),
      comment: 'certflow renewal run: select due certificates, issue them in batches, summarize',
      logs: props.logs,
      tracingEnabled: props.tracingEnabled ?? false,
    });
  }
}
