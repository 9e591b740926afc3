import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { DEPLOYMENT_TAG } from '../lambdas/adapters/aws/deployment-tag';
import { certificateSecretName } from '../lambdas/adapters/aws/secret-names';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { delegationRecord } from '../lambdas/core/dns/names';
import { ConfigError } from '../lambdas/core/errors';
import { TASK_STEPS, type TaskStep } from '../lambdas/core/state';
import { ENV } from '../lambdas/runtime/env';
import {
  ALERTED_EXECUTION_STATUSES,
  EXECUTION_ENDED_FIELDS,
  EXECUTION_ENDED_TEMPLATE,
  type ExecutionEndedField,
} from './alerts/execution-ended';
import { BUNDLE_HANDLER, ensureFunctionBundles, type FunctionBundle } from './bundling/function-bundles';
import { type CertflowProps, type ResolvedCertflowProps, validateCertflowProps } from './certflow-props';
import { configLayerDirectory, LAYER_CONFIG_PATH } from './config-layer';
import {
  logWriteStatements,
  nagSuppressionsOf,
  type PolicyInputs,
  secretsKeyStatements,
  stepPolicyStatements,
  sweepStatements,
} from './iam';
import { acmAlarmNamePrefix, CertflowMonitoring } from './monitoring/monitoring';
import type { StepFunctions } from './state-machine/definition';
import { RenewalStateMachine } from './state-machine/renewal-state-machine';
import { STEP_SETTINGS } from './state-machine/step-settings';

/** CloudFormation's limit on an output value. */
const OUTPUT_VALUE_LIMIT = 4000;

/** Up to this many `_acme-challenge` CNAMEs are stack outputs; more are listed by `certflow plan`. */
export const CNAME_OUTPUTS_UP_TO = 100;

/**
 * The distinct primary-zone CNAMEs a configuration needs, in zone-file form (one per
 * `_acme-challenge.<base name>`; apex and wildcard share one, RFC 8555 §8.4).
 */
export function delegationRecords(config: CertflowConfig): string[] {
  const records = new Set<string>();
  for (const certificate of config.certificates) {
    for (const domain of certificate.domains) records.add(delegationRecord(domain, config.delegation.zone));
  }
  return [...records];
}

/** Split `items` into `sep`-joined chunks of at most `limit` characters (CloudFormation output values). */
export function chunkJoin(items: readonly string[], sep: string, limit = OUTPUT_VALUE_LIMIT): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const item of items) {
    const next = current === '' ? item : `${current}${sep}${item}`;
    if (next.length > limit && current !== '') {
      chunks.push(current);
      current = item;
    } else {
      current = next;
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

/** The secret name prefixes of the Certflow constructs of each stack: two in one stack would share everything. */
const PREFIXES_IN_STACK = new WeakMap<Stack, Set<string>>();

/** The manual-run command for a renewal of `certificate`, forced (docs/deploy.md's first-certificate step). */
export function startExecutionCommand(stateMachineArn: string, certificate: string): string {
  return `aws stepfunctions start-execution --state-machine-arn ${stateMachineArn} --input '${JSON.stringify({ certificates: [certificate], force: true })}'`;
}

/**
 * The configuration as the functions receive it (the config layer's file): the validated config
 * in schema input form (the runtime validates it again with `parseConfig`), so the derived
 * `acme.directoryUrl` and the editor-only `$schema` are left out.
 */
export function configForFunctions(config: CertflowConfig): string {
  const { directoryUrl: _derived, ...acme } = config.acme;
  const { $schema: _editorOnly, ...rest } = config;
  return JSON.stringify({ ...rest, acme });
}

/** Which environment variables (beyond the common ones) each step gets: only what it uses. */
const STEP_ENV: Record<TaskStep, readonly (keyof typeof ENV)[]> = {
  SelectDue: ['secretNamePrefix', 'secretsKmsKeyId', 'eabSecretArn', 'pendingTable'],
  CreateOrder: ['secretNamePrefix', 'pendingTable'],
  PublishRecords: ['hostedZoneId', 'pendingTable'],
  CheckPropagation: ['hostedZoneId'],
  AnswerChallenges: ['secretNamePrefix'],
  CheckOrder: ['secretNamePrefix'],
  FinalizeAndStore: ['secretNamePrefix', 'secretsKmsKeyId', 'topicArn', 'alarmNamePrefix'],
  Cleanup: ['hostedZoneId', 'pendingTable'],
  RecordFailure: ['topicArn'],
  Summarize: ['topicArn', 'secretNamePrefix'],
};

/**
 * certflow: scheduled ACME DNS-01 (RFC 8555 §8.4) issuance and renewal with CNAME delegation.
 *
 * One Lambda function per Task state, each with its own least-privilege role (lib/iam.ts); a
 * Standard Step Functions workflow (lib/state-machine); an EventBridge Scheduler schedule; an
 * SNS alerts topic; KMS-encrypted secrets for the certificates and the ACME account key; and,
 * on request, the delegated validation hosted zone. Throws {@link ConfigError} listing every
 * problem when the props or configuration cannot be deployed.
 */
export class Certflow extends Construct {
  readonly config: CertflowConfig;
  /** The renewal run (started by the schedule, or by hand). */
  readonly stateMachine: sfn.StateMachine;
  /** One batch of due certificates (started by the run, one execution per batch). */
  readonly batchStateMachine: sfn.StateMachine;
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly secretsKey: kms.Key;
  /**
   * Prefix of the secrets the functions create at run time: `<prefix>/certificate/<name>`,
   * `<prefix>/acme-account/<hash>`, `<prefix>/pending-key/<name>`, all encrypted with
   * {@link secretsKey}.
   */
  readonly secretNamePrefix: string;
  readonly functions: Readonly<Record<TaskStep, lambda.Function>>;
  /** The configuration file every function reads (`/opt/certflow/config.json`). */
  readonly configLayer: lambda.LayerVersion;
  /** The directory the config layer is made from (holds `certflow/config.json`). */
  readonly configLayerDirectory: string;
  /** TXT values written and not yet removed, with the execution that wrote them. */
  readonly pendingTable: dynamodb.Table;
  /** Alerts when an execution ends FAILED, TIMED_OUT or ABORTED. */
  readonly executionEndedRule: events.Rule;
  /** Alarms (to the alerts topic) and the dashboard (lib/monitoring). */
  readonly monitoring: CertflowMonitoring;
  readonly logGroups: readonly logs.LogGroup[];
  readonly schedule: scheduler.Schedule;
  /** Present with `dns.createHostedZone: true`. */
  readonly hostedZone?: route53.PublicHostedZone;
  /** The delegated zone's hosted zone id (a token when the construct creates the zone). */
  readonly hostedZoneId: string;
  /** The CNAMEs to add to the primary zone(s), in zone-file form. */
  readonly delegationRecords: readonly string[];

  constructor(scope: Construct, id: string, props: CertflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // The stack's name is the default prefix: two stacks in one account share no name, key,
    // tag or grant; a stack deployed again under its name finds what it left (docs/deploy.md).
    const resolved = validateCertflowProps(props, {
      stackName: Token.isUnresolved(stack.stackName) ? undefined : stack.stackName,
    });
    const { config } = resolved;
    this.config = config;
    const prefixes = PREFIXES_IN_STACK.get(stack) ?? new Set<string>();
    if (prefixes.has(resolved.secretNamePrefix)) {
      throw new ConfigError(
        [
          {
            path: 'secretNamePrefix',
            message: `"${resolved.secretNamePrefix}" is already the prefix of another Certflow construct in this stack; give each its own secretNamePrefix`,
          },
        ],
        'certflow construct props',
      );
    }
    prefixes.add(resolved.secretNamePrefix);
    PREFIXES_IN_STACK.set(stack, prefixes);
    if (config.dns.provider !== 'route53') {
      throw new ConfigError([{ path: 'dns.provider', message: 'the AWS stack needs "route53"' }]);
    }

    // ---- keys, secrets, topic ----
    // Kept when the stack is deleted (by default): it encrypts the secrets the functions created,
    // which outlive the stack. Tagged with the deployment's prefix, which the roles are granted
    // by (lib/iam.ts), so the next deployment with this prefix reads what this key encrypted.
    this.secretsKey = new kms.Key(this, 'SecretsKey', {
      description: `certflow ${resolved.secretNamePrefix}: encrypts the certificate and ACME account secrets under ${resolved.secretNamePrefix}/`,
      enableKeyRotation: true,
      removalPolicy: resolved.removalPolicy,
    });
    Tags.of(this.secretsKey).add(DEPLOYMENT_TAG, resolved.secretNamePrefix);
    // Deleted with the stack (after KMS's waiting period): the topic it encrypts goes too.
    this.topicKey = new kms.Key(this, 'AlertsTopicKey', {
      description: `certflow ${resolved.secretNamePrefix}: encrypts the alerts topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.topic = new sns.Topic(this, 'AlertsTopic', {
      displayName: 'certflow alerts',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    for (const email of config.alerts.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    // Secrets are created by the functions at run time under this prefix (and granted by it), so
    // neither the template nor the policies grow with the number of certificates.
    this.secretNamePrefix = resolved.secretNamePrefix;

    // ---- delegated zone ----
    if (config.dns.createHostedZone) {
      this.hostedZone = new route53.PublicHostedZone(this, 'DelegatedZone', {
        zoneName: config.delegation.zone,
        comment: 'certflow: delegated ACME dns-01 validation zone (TXT records only)',
      });
      // Kept when the stack is deleted: a deleted zone that is still delegated from its parent
      // can be re-created in another account, whose owner could then answer the CA for every
      // primary name whose _acme-challenge CNAME points here (docs/deploy.md, "Teardown").
      this.hostedZone.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.hostedZoneId = this.hostedZone.hostedZoneId;
    } else if (config.dns.hostedZoneId !== undefined) {
      this.hostedZoneId = config.dns.hostedZoneId;
    } else {
      throw new ConfigError([{ path: 'dns.hostedZoneId', message: 'set hostedZoneId or createHostedZone' }]);
    }
    this.delegationRecords = delegationRecords(config);

    // ---- TXT values written and not yet removed (owned until removed; swept by later runs) ----
    this.pendingTable = new dynamodb.Table(this, 'PendingRecords', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    NagSuppressions.addResourceSuppressions(this.pendingTable, [
      {
        id: 'AwsSolutions-DDB3',
        reason:
          'The table holds only TXT values in flight (written, not yet removed) for minutes; restoring it to an earlier point would resurrect values already removed, so point-in-time recovery has nothing to protect',
      },
    ]);

    // ---- functions, one role each ----
    const usesAcm = config.certificates.some((c) => c.stores.includes('acm'));
    const acmRegions = usesAcm
      ? [...new Set([stack.region, ...config.certificates.flatMap((c) => c.acmRegions)])]
      : [];
    const eabArn = config.acme.externalAccountBinding?.hmacKeySecretArn;
    const inputs: PolicyInputs = {
      partition: stack.partition,
      account: stack.account,
      region: stack.region,
      hostedZoneId: this.hostedZoneId,
      zone: config.delegation.zone,
      secretNamePrefix: resolved.secretNamePrefix,
      usesSecretsManagerStore: config.certificates.some((c) => c.stores.includes('secretsmanager')),
      secretsKeyArn: this.secretsKey.keyArn,
      topicArn: this.topic.topicArn,
      topicKeyArn: this.topicKey.keyArn,
      eabSecretArn: eabArn,
      acmRegions,
      pendingTableArn: this.pendingTable.tableArn,
      acmAlarmNamePrefix: config.monitoring.acmDaysToExpiry.enabled
        ? acmAlarmNamePrefix(resolved.secretNamePrefix)
        : undefined,
    };
    const envValues: Record<keyof typeof ENV, string | undefined> = {
      config: undefined,
      configFile: LAYER_CONFIG_PATH,
      step: undefined,
      mode: undefined,
      stateDirectory: undefined,
      logFile: undefined,
      metricsFile: undefined,
      secretNamePrefix: resolved.secretNamePrefix,
      secretsKmsKeyId: this.secretsKey.keyArn,
      topicArn: this.topic.topicArn,
      hostedZoneId: this.hostedZoneId,
      eabSecretArn: eabArn,
      pendingTable: this.pendingTable.tableName,
      alarmNamePrefix: inputs.acmAlarmNamePrefix,
    };
    // The configuration ships as a file in one layer (no 4 KB environment limit); the function
    // code is the very bundle that local mode and the tests run (lib/bundling).
    this.configLayerDirectory = configLayerDirectory(configForFunctions(config), resolved.projectRoot);
    this.configLayer = new lambda.LayerVersion(this, 'ConfigLayer', {
      description: 'certflow configuration (certflow/config.json)',
      code: lambda.Code.fromAsset(this.configLayerDirectory),
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const bundles = ensureFunctionBundles({ projectRoot: resolved.projectRoot });
    const logGroups: logs.LogGroup[] = [];
    const functions = {} as Record<TaskStep, lambda.Function>;
    for (const step of TASK_STEPS) {
      functions[step] = this.stepFunction(step, bundles[step], resolved, inputs, envValues, logGroups);
    }
    this.functions = functions;

    // ---- state machine, schedule ----
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: resolved.logRetention,
    });
    logGroups.push(stateMachineLogs);
    this.logGroups = logGroups;
    const renewal = new RenewalStateMachine(this, 'Renewal', {
      functions: functions as StepFunctions,
      maxConcurrency: config.renewal.maxConcurrency,
      batchConcurrency: config.renewal.batchConcurrency,
      // Execution data (order state, TXT values) stays out of the logs; errors are logged.
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
      tracingEnabled: true,
    });
    this.stateMachine = renewal.stateMachine;
    this.batchStateMachine = renewal.batchStateMachine;
    acknowledgeStateMachineFindings(renewal);
    // The sweep's DescribeExecution on the executions that write TXT values (the batches) and the
    // runs, attached once the state machines exist.
    const cleanupRole = functions.Cleanup.role;
    if (cleanupRole) {
      const executionsOf = (machine: sfn.StateMachine): string =>
        stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${machine.stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
      const statements = sweepStatements([
        executionsOf(this.batchStateMachine),
        executionsOf(this.stateMachine),
      ]);
      const sweepPolicy = new iam.Policy(this, 'CleanupSweepPolicy', { statements, roles: [cleanupRole] });
      NagSuppressions.addResourceSuppressions(sweepPolicy, nagSuppressionsOf(statements));
    }
    this.schedule = new scheduler.Schedule(this, 'RenewalSchedule', {
      description: 'certflow: scheduled renewal run (renews only what is due)',
      schedule: scheduler.ScheduleExpression.expression(config.schedule.expression),
      timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(config.schedule.flexibleWindowMinutes)),
      enabled: config.schedule.enabled,
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
      }),
    });

    this.executionEndedRule = this.alertOnExecutionEnd();
    this.monitoring = new CertflowMonitoring(this, 'Monitoring', {
      config,
      stateMachine: this.stateMachine,
      topic: this.topic,
      topicKey: this.topicKey,
    });

    this.outputs();
  }

  /**
   * Let `grantee` read one certificate's secret (GetSecretValue, DescribeSecret, and KMS Decrypt
   * through Secrets Manager): what a server that uses the certificate needs.
   */
  grantReadCertificate(certificate: string, grantee: iam.IGrantable): iam.Grant {
    const known = this.config.certificates.find((c) => c.name === certificate);
    if (!known?.stores.includes('secretsmanager')) {
      throw new ConfigError([
        {
          path: 'certificates',
          message: `no Secrets Manager secret for certificate "${certificate}" (unknown, or not stored in secretsmanager)`,
        },
      ]);
    }
    const stack = Stack.of(this);
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      // The secret's name, with Secrets Manager's 6-character random suffix.
      resourceArns: [
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${this.certificateSecretName(certificate)}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    // The key by ARN, and a key an earlier deployment with this prefix retained (the secret may
    // still be encrypted with it): the same two statements as the functions' (lib/iam.ts).
    for (const statement of secretsKeyStatements(['kms:Decrypt'], {
      partition: stack.partition,
      region: stack.region,
      account: stack.account,
      secretsKeyArn: this.secretsKey.keyArn,
      secretNamePrefix: this.secretNamePrefix,
    })) {
      grantee.grantPrincipal.addToPrincipalPolicy(statement);
    }
    return grant;
  }

  /** The name of a certificate's secret: `<prefix>/certificate/<name>` (created on its first store). */
  certificateSecretName(certificate: string): string {
    return certificateSecretName(this.secretNamePrefix, certificate);
  }

  /**
   * An EventBridge rule on this state machine's executions that end FAILED, TIMED_OUT or ABORTED
   * (the "Step Functions Execution Status Change" event), delivering a readable message to the
   * alerts topic: a run that dies where no Catch can see it (history or payload limit, execution
   * timeout, a stop) still alerts.
   */
  private alertOnExecutionEnd(): events.Rule {
    const rule = new events.Rule(this, 'ExecutionEndedRule', {
      description: 'certflow: alert when a renewal run ends FAILED, TIMED_OUT or ABORTED',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: [...ALERTED_EXECUTION_STATUSES],
        },
      },
    });
    const field = (name: ExecutionEndedField): string =>
      events.EventField.fromPath(EXECUTION_ENDED_FIELDS[name]);
    const text = EXECUTION_ENDED_TEMPLATE.replace(/<(\w+)>/g, (match, name: string) =>
      name in EXECUTION_ENDED_FIELDS ? field(name as ExecutionEndedField) : match,
    );
    // EventBridge publishes with an execution role of this rule's own (EventBridge supports IAM
    // execution roles for every target, and AWS recommends them: "Amazon EventBridge now supports
    // IAM execution roles for all targets", March 2025). The role may publish to the alerts topic
    // and use its key through SNS only, exactly as the functions that publish do, so neither the
    // topic policy nor the key policy names the events.amazonaws.com service principal: no other
    // account's rule can publish here.
    const region = Stack.of(this).region;
    const role = new iam.Role(this, 'ExecutionEndedRuleRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'certflow: the execution-ended rule publishes its alert to the alerts topic',
      inlinePolicies: {
        publishAlert: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
            new iam.PolicyStatement({
              actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
              resources: [this.topicKey.keyArn],
              conditions: { StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` } },
            }),
          ],
        }),
      },
    });
    // A target of our own, not aws-events-targets' SnsTopic: that one also grants its role
    // `kms:GenerateDataKey*` on the key, wider than the two actions SNS uses.
    const topic = this.topic;
    rule.addTarget({
      bind: () => ({
        arn: topic.topicArn,
        role,
        input: events.RuleTargetInput.fromText(text),
        targetResource: topic,
      }),
    });
    return rule;
  }

  private stepFunction(
    step: TaskStep,
    bundle: FunctionBundle,
    resolved: ResolvedCertflowProps,
    inputs: PolicyInputs,
    envValues: Record<keyof typeof ENV, string | undefined>,
    logGroups: logs.LogGroup[],
  ): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${step}Logs`, { retention: resolved.logRetention });
    logGroups.push(logGroup);
    const statements = [...logWriteStatements(logGroup.logGroupArn), ...stepPolicyStatements(step, inputs)];
    const role = new iam.Role(this, `${step}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `certflow ${step}: least privilege for this step only`,
      inlinePolicies: {
        certflow: new iam.PolicyDocument({
          // Keep the statements exactly as lib/iam.ts builds them (tests pin them).
          minimize: false,
          statements,
        }),
      },
    });
    // The acknowledgements the role's wildcard statements carry (lib/iam.ts), each once.
    const acknowledged = nagSuppressionsOf(statements);
    if (acknowledged.length > 0) NagSuppressions.addResourceSuppressions(role, acknowledged);
    const environment: Record<string, string> = {
      [ENV.configFile]: LAYER_CONFIG_PATH,
      [ENV.step]: step,
      [ENV.mode]: 'aws',
    };
    // Each bundle has an external source map beside it; reading it at start costs cold-start time,
    // so stack traces are mapped only on request.
    if (resolved.sourceMapsAtRuntime) environment.NODE_OPTIONS = '--enable-source-maps';
    for (const key of STEP_ENV[step]) {
      const value = envValues[key];
      if (value !== undefined) environment[ENV[key]] = value;
    }
    const fn = new lambda.Function(this, `${step}Function`, {
      description: `certflow ${step}`,
      code: lambda.Code.fromAsset(bundle.directory),
      handler: BUNDLE_HANDLER,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: STEP_SETTINGS[step].memoryMb,
      timeout: Duration.seconds(STEP_SETTINGS[step].timeoutSeconds),
      layers: [this.configLayer],
      role,
      logGroup,
      environment,
    });
    NagSuppressions.addResourceSuppressions(fn, [
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 24 is pinned on purpose: the bundles are built for target node24 and tested on it (npm run test:node24); the runtime is upgraded deliberately together with the esbuild target, not implicitly',
      },
    ]);
    return fn;
  }

  private outputs(): void {
    new CfnOutput(this, 'StateMachineArn', {
      description: 'certflow renewal state machine',
      value: this.stateMachine.stateMachineArn,
    });
    // `certflow run` follows these executions too (GetExecutionHistory; docs/cli.md, Permissions).
    new CfnOutput(this, 'BatchStateMachineArn', {
      description: 'certflow batch state machine: each run starts one execution per batch of certificates',
      value: this.batchStateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'AlertsTopicArn', {
      description: 'SNS topic for failure alerts',
      value: this.topic.topicArn,
    });
    const first = this.config.certificates[0]?.name ?? 'name';
    new CfnOutput(this, 'StartExecutionCommand', {
      description: 'Issue a certificate now (forced renewal)',
      value: startExecutionCommand(this.stateMachine.stateMachineArn, first),
    });
    new CfnOutput(this, 'CertificateSecretNamePrefix', {
      description:
        'Secrets Manager: each certificate is in the secret <this prefix>/certificate/<name>, created on its first issue',
      value: this.secretNamePrefix,
    });
    if (this.monitoring.dashboard) {
      new CfnOutput(this, 'DashboardName', {
        description:
          'CloudWatch dashboard: days to expiry, runs, failures by step, step and propagation times',
        value: this.monitoring.dashboard.dashboardName,
      });
    }
    new CfnOutput(this, 'DelegatedZoneId', {
      description: `hosted zone id of ${this.config.delegation.zone}`,
      value: this.hostedZoneId,
    });
    if (this.hostedZone) {
      new CfnOutput(this, 'DelegatedZoneNameServers', {
        description: `NS records to add for ${this.config.delegation.zone} in its parent zone`,
        value: Fn.join(', ', this.hostedZone.hostedZoneNameServers ?? []),
      });
    }
    // The CNAMEs as outputs while they are few; past that, the template would grow with every
    // certificate (a thousand CNAMEs are ~90 KB), so one output says where to list them.
    if (this.delegationRecords.length <= CNAME_OUTPUTS_UP_TO) {
      chunkJoin(this.delegationRecords, ' ; ').forEach((value, i) => {
        new CfnOutput(this, i === 0 ? 'DelegationCnames' : `DelegationCnames${i + 1}`, {
          description: 'CNAMEs to add to the primary zone(s), separated by " ; "',
          value,
        });
      });
    } else {
      new CfnOutput(this, 'DelegationCnames', {
        description: 'CNAMEs to add to the primary zone(s)',
        value: `${this.delegationRecords.length} CNAMEs: list them with "certflow plan --config <this deployment's config>" (docs/cli.md)`,
      });
    }
  }
}

/**
 * The state machines' findings that are by design: ERROR-level logging without execution data,
 * and the wildcards CDK generates in their roles (LambdaInvoke's `:*`, X-Ray and log delivery,
 * the run's startExecution.sync on its batches).
 */
function acknowledgeStateMachineFindings(renewal: RenewalStateMachine): void {
  const { stateMachine, batchStateMachine } = renewal;
  NagSuppressions.addResourceSuppressions(
    [stateMachine, batchStateMachine],
    [
      {
        id: 'AwsSolutions-SF1',
        reason:
          'Logging level ERROR with includeExecutionData false by design: execution data carries ACME order state, and failures are logged and alerted via SNS; ALL would log every state transition of every run',
      },
    ],
  );
  NagSuppressions.addResourceSuppressions(
    [stateMachine.role, batchStateMachine.role],
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Generated by CDK for LambdaInvoke: the function ARN with ":*" covers its versions and aliases only',
        appliesTo: [{ regex: '/^Resource::<.*Function[0-9A-F]{8}\\.Arn>:\\*$/g' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* and CloudWatch Logs delivery actions do not support resource-level permissions (AWS requires "*")',
        appliesTo: ['Resource::*'],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    stateMachine.role,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "Generated by CDK for startExecution.sync (RunBatch): DescribeExecution and StopExecution on the batch state machine's executions, whose ARNs are created per batch (execution:<batch state machine name>*)",
        appliesTo: [
          { regex: '/^Resource::arn:<AWS::Partition>:states:.*:execution:.*BatchStateMachine.*\\*$/g' },
        ],
      },
    ],
    true,
  );
}
