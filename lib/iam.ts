import * as iam from 'aws-cdk-lib/aws-iam';
import type { NagPackSuppression } from 'cdk-nag';
import { DEPLOYMENT_TAG } from '../lambdas/adapters/aws/deployment-tag';
import { ACM_ARI_TAG, ACM_TAG_KEYS } from '../lambdas/adapters/store/acm/acm-tags';
import type { TaskStep } from '../lambdas/core/state';

/**
 * Least-privilege IAM statements for each Task step's function (one role per function).
 *
 * Pure: builds {@link iam.PolicyStatement}s from ARNs and names (plain strings or CDK tokens),
 * creates no constructs. The construct puts them, unminimised, into each role's inline policy,
 * so what this module returns is exactly what is deployed.
 *
 * Posture (see docs/deploy.md):
 * - Only PublishRecords and Cleanup may change records, only in the delegated hosted zone, only
 *   TXT, only CREATE/DELETE, and only for names below the delegated zone (Route 53 condition keys).
 * - Only FinalizeAndStore writes certificate secrets (and pending keys) and imports into ACM; only
 *   SelectDue writes the ACME account secret. Secrets are created at run time under one name
 *   prefix and granted by it, so the policies stay the same size whatever the certificate count.
 * - KMS use is pinned to the key and to the service that uses it (`kms:ViaService`). The secrets
 *   are also readable with a key an earlier deployment with the same prefix left behind (retained
 *   on delete): keys of this account and region tagged `certflow:deployment=<prefix>`
 *   (`aws:ResourceTag`, "ABAC for AWS KMS"), so a redeploy finds its account and certificates.
 * - ACM writes only on certificates tagged `certflow:deployment=<prefix>` (`aws:ResourceTag`), and
 *   a new import only with that tag in the request (`aws:RequestTag`, `aws:TagKeys`): a certificate
 *   certflow did not import (one a load balancer or CloudFront serves) cannot be overwritten.
 * - No `*` actions. `*` resources only for `acm:ListCertificates`, which supports no resource
 *   scoping.
 *
 * Each statement with a wildcard resource carries the cdk-nag AwsSolutions-IAM5 acknowledgement
 * that excuses it, written beside it here ({@link nagSuppressionsOf} reads them back).
 */

/** Everything the statements refer to. Values may be CDK tokens. */
export interface PolicyInputs {
  /** `aws`, `aws-cn`, `aws-us-gov` (usually `Aws.PARTITION`). */
  readonly partition: string;
  /** Account id (usually `Aws.ACCOUNT_ID`). */
  readonly account: string;
  /** Region the functions run in (usually `Aws.REGION`); ACM's home region. */
  readonly region: string;
  /** Hosted zone id of the delegated validation zone. */
  readonly hostedZoneId: string;
  /** Name of the delegated validation zone, lowercase, no trailing dot. */
  readonly zone: string;
  /**
   * The name prefix of the secrets the functions create at run time (`<prefix>/acme-account/…`,
   * `<prefix>/certificate/…`, `<prefix>/pending-key/…`), so the policies do not grow with the
   * certificates.
   */
  readonly secretNamePrefix: string;
  /** Whether any certificate is stored in Secrets Manager. */
  readonly usesSecretsManagerStore: boolean;
  /** KMS key encrypting the account and certificate secrets (this deployment's). */
  readonly secretsKeyArn: string;
  /** SNS alerts topic. */
  readonly topicArn: string;
  /** KMS key encrypting the alerts topic. */
  readonly topicKeyArn: string;
  /** Secret holding the EAB HMAC key (as configured), when the CA needs External Account Binding. */
  readonly eabSecretArn?: string;
  /**
   * ACM regions certificates are imported into (home region first); empty when no certificate
   * uses the `acm` store.
   */
  readonly acmRegions: readonly string[];
  /** DynamoDB table of pending TXT values (written, not yet removed). */
  readonly pendingTableArn: string;
  /**
   * Name prefix of the alarms FinalizeAndStore puts on ACM's DaysToExpiry (certificates imported
   * into ACM); undefined when there are none (no ACM store, or `monitoring.acmDaysToExpiry` off).
   */
  readonly acmAlarmNamePrefix?: string;
}

/** acm:ListCertificates (see {@link acmFind}). */
const NAG_ACM_LIST: NagPackSuppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    'acm:ListCertificates supports no resource-level permissions; it finds the existing certflow certificate (by tag) to re-import into the same ARN',
  appliesTo: ['Resource::*'],
};

/** ACM actions on `certificate/*` of the account in each ACM region (see {@link acmWrites}). */
const NAG_ACM_CERTIFICATES: NagPackSuppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    "ACM certificate ARNs exist only after the first ImportCertificate (and differ per region), so ACM actions are scoped to certificates of this account in the configured ACM regions, and every write and DescribeCertificate to those tagged certflow:deployment=<this deployment's prefix> (aws:ResourceTag; a new import aws:RequestTag and aws:TagKeys); ListTagsForCertificate reads every certificate's tags to find that one",
  appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:acm:.+:certificate\\/\\*$/g' }],
};

/** The runtime-created secrets, `<prefix>/<kind>/*` (see {@link runtimeSecretsArn}). */
const NAG_RUNTIME_SECRETS: NagPackSuppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    "The functions create their secrets at run time under one name prefix (<prefix>/acme-account/*, <prefix>/certificate/*, <prefix>/pending-key/*), so the policies stay the same size for a thousand certificates; the * also covers Secrets Manager's random name suffix",
  appliesTo: [
    {
      regex:
        '/^Resource::arn:<AWS::Partition>:secretsmanager:[a-z0-9-]+:\\d{12}:secret:.+\\/(acme-account|certificate|pending-key)\\/\\*$/g',
    },
  ],
};

/** Keys an earlier deployment retained (see {@link secretsKeyStatements}). */
const NAG_RETAINED_KEYS: NagPackSuppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    "The secrets an earlier deployment with this prefix created stay encrypted with its KMS key, which is retained on delete and whose ARN this deployment cannot know: KMS keys of this account and region, only through Secrets Manager (kms:ViaService) and only tagged certflow:deployment=<this deployment's prefix> (aws:ResourceTag)",
  appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:kms:[a-z0-9-]+:\\d{12}:key\\/\\*$/g' }],
};

/** The ACM DaysToExpiry alarms FinalizeAndStore puts (see {@link finalizeAndStore}). */
const NAG_ACM_ALARMS: NagPackSuppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    "FinalizeAndStore puts one alarm on ACM's DaysToExpiry per certificate it imports (the ARN exists only then): alarm names are this deployment's prefix and the certificate name, and the condition cloudwatch:AlarmActions allows only the alerts topic",
  appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:cloudwatch:.*:alarm:.+-AcmDaysToExpiry-\\*$/g' }],
};

/** route53:GetChange (CheckPropagation). */
const NAG_ROUTE53_CHANGE: NagPackSuppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    'route53:GetChange takes a change id returned at write time; change ids cannot be known in advance, so the resource is arn:<partition>:route53:::change/*',
  appliesTo: ['Resource::arn:<AWS::Partition>:route53:::change/*'],
};

/** The sweep's DescribeExecution (see {@link sweepStatements}). */
export const NAG_SWEEP_EXECUTIONS: NagPackSuppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    "The sweep asks whether the execution that wrote a TXT value is still running; execution ARNs are created per run, so the resource is this state machine's executions (execution:<name>:*)",
  appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:states:.*:execution:<.*\\.Name>:\\*$/g' }],
};

/** The order a role's acknowledgements are listed in its metadata. */
const NAG_ORDER: readonly NagPackSuppression[] = [
  NAG_ACM_LIST,
  NAG_ACM_CERTIFICATES,
  NAG_RUNTIME_SECRETS,
  NAG_RETAINED_KEYS,
  NAG_ACM_ALARMS,
  NAG_ROUTE53_CHANGE,
  NAG_SWEEP_EXECUTIONS,
];

/** Route 53 condition keys that confine a record change (IAM, Route 53 "fine-grained access"). */
export function route53ChangeConditions(zone: string): Record<string, Record<string, string[]>> {
  return {
    'ForAllValues:StringEquals': {
      'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
      'route53:ChangeResourceRecordSetsActions': ['CREATE', 'DELETE'],
    },
    'ForAllValues:StringLike': {
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`*.${zone}`],
    },
  };
}

/** `arn:<partition>:route53:::hostedzone/<id>`. */
export function hostedZoneArn(partition: string, hostedZoneId: string): string {
  return `arn:${partition}:route53:::hostedzone/${hostedZoneId}`;
}

/** `arn:<partition>:acm:<region>:<account>:certificate/*`. */
export function acmCertificatesArn(partition: string, region: string, account: string): string {
  return `arn:${partition}:acm:${region}:${account}:certificate/*`;
}

function viaService(service: string, region: string): Record<string, Record<string, string>> {
  return { StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com` } };
}

/** `aws:ResourceTag/certflow:deployment` = the deployment's prefix. */
function taggedForDeployment(prefix: string): Record<string, string> {
  return { [`aws:ResourceTag/${DEPLOYMENT_TAG}`]: prefix };
}

/**
 * Every KMS key of the account in the region (`arn:…:kms:<region>:<account>:key/*`): narrowed by
 * the deployment tag, since the keys an earlier deployment retained have ARNs this one cannot know.
 */
export function accountKeysArn(i: Pick<PolicyInputs, 'partition' | 'region' | 'account'>): string {
  return `arn:${i.partition}:kms:${i.region}:${i.account}:key/*`;
}

/**
 * The secrets key through Secrets Manager: this deployment's key by ARN, and any key of the
 * account and region tagged `certflow:deployment=<prefix>` (the key an earlier deployment with
 * this prefix retained on delete still encrypts the secrets it created; Secrets Manager uses a
 * secret's own key for every version, GenerateDataKey included). KMS evaluates `aws:ResourceTag`
 * on the key ("ABAC for AWS KMS"); the key policy (CDK's default) lets IAM policies of the
 * account grant its use. The key by ARN as well: KMS may take up to five minutes to authorize by
 * a new key's tags (same guide).
 */
export function secretsKeyStatements(
  actions: string[],
  i: Pick<PolicyInputs, 'partition' | 'region' | 'account' | 'secretsKeyArn' | 'secretNamePrefix'>,
): iam.PolicyStatement[] {
  const via = `secretsmanager.${i.region}.amazonaws.com`;
  return [
    allow(actions, [i.secretsKeyArn], { StringEquals: { 'kms:ViaService': via } }),
    allow(
      actions,
      [accountKeysArn(i)],
      { StringEquals: { 'kms:ViaService': via, ...taggedForDeployment(i.secretNamePrefix) } },
      NAG_RETAINED_KEYS,
    ),
  ];
}

function allow(
  actions: string[],
  resources: readonly string[],
  conditions?: iam.PolicyStatementProps['conditions'],
  nag?: NagPackSuppression,
) {
  const statement = new iam.PolicyStatement({
    effect: iam.Effect.ALLOW,
    actions,
    resources: [...resources],
    ...(conditions ? { conditions } : {}),
  });
  if (nag) NAG_REASON.set(statement, nag);
  return statement;
}

/** The cdk-nag acknowledgement each statement with a wildcard resource carries. */
const NAG_REASON = new WeakMap<iam.PolicyStatement, NagPackSuppression>();

/**
 * The cdk-nag acknowledgements of `statements` (each once), in the order of {@link NAG_ORDER}:
 * what a role holding exactly these statements needs acknowledged.
 */
export function nagSuppressionsOf(statements: readonly iam.PolicyStatement[]): NagPackSuppression[] {
  const carried = new Set(statements.map((s) => NAG_REASON.get(s)));
  return NAG_ORDER.filter((nag) => carried.has(nag));
}

/** Record writes for RFC 8555 §8.4 dns-01: read-merge-CAS with CREATE+DELETE only. */
function recordWrites(i: PolicyInputs): iam.PolicyStatement[] {
  const zoneArn = hostedZoneArn(i.partition, i.hostedZoneId);
  return [
    allow(['route53:ChangeResourceRecordSets'], [zoneArn], route53ChangeConditions(i.zone)),
    allow(['route53:ListResourceRecordSets'], [zoneArn]),
  ];
}

/**
 * The pending-values table: PublishRecords records each value before writing it; Cleanup forgets
 * values after removing them and reads them all for the run-start sweep.
 */
function pendingRecords(step: 'PublishRecords' | 'Cleanup', i: PolicyInputs): iam.PolicyStatement[] {
  // A pending value's key begins with its execution's ARN (dynamodb-pending-records.ts), so
  // PublishRecords cannot overwrite the new-order budget item in the same table.
  return step === 'PublishRecords'
    ? [
        allow(['dynamodb:PutItem'], [i.pendingTableArn], {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`arn:${i.partition}:states:*`] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        }),
      ]
    : [allow(['dynamodb:BatchWriteItem', 'dynamodb:Scan'], [i.pendingTableArn])];
}

/**
 * The per-account new-order budget (lambdas/core/renewal/order-budget.ts): one item per ACME
 * directory in the run-state table, read and conditionally replaced. SelectDue reserves the
 * run's orders; CreateOrder records a CA's `rateLimited` block. Only the budget items
 * (`order-budget|…` keys): the pending TXT values in the same table are out of reach.
 */
function orderBudget(i: PolicyInputs): iam.PolicyStatement[] {
  return [
    allow(['dynamodb:GetItem', 'dynamodb:PutItem'], [i.pendingTableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['order-budget|*'] },
      // ForAllValues holds vacuously when the key is absent: require it.
      Null: { 'dynamodb:LeadingKeys': 'false' },
    }),
  ];
}

/**
 * The run-start sweep asks whether the execution that wrote a value is still running
 * (states:DescribeExecution on this state machine's executions). Its own policy, attached after
 * the state machine exists: the role is created before it.
 */
export function sweepStatements(executionsArns: readonly string[]): iam.PolicyStatement[] {
  return [allow(['states:DescribeExecution'], executionsArns, undefined, NAG_SWEEP_EXECUTIONS)];
}

/**
 * The ARN pattern of the runtime-created secrets of one kind: `<prefix>/<kind>/*` (the `*` also
 * covers Secrets Manager's random 6-character suffix).
 */
export function runtimeSecretsArn(
  i: Pick<PolicyInputs, 'partition' | 'region' | 'account' | 'secretNamePrefix'>,
  kind: 'acme-account' | 'certificate' | 'pending-key',
): string {
  return `arn:${i.partition}:secretsmanager:${i.region}:${i.account}:secret:${i.secretNamePrefix}/${kind}/*`;
}

function accountSecretRead(i: PolicyInputs): iam.PolicyStatement[] {
  return [
    allow(
      ['secretsmanager:GetSecretValue'],
      [runtimeSecretsArn(i, 'acme-account')],
      undefined,
      NAG_RUNTIME_SECRETS,
    ),
    ...secretsKeyStatements(['kms:Decrypt'], i),
  ];
}

function alertPublish(i: PolicyInputs): iam.PolicyStatement[] {
  return [
    allow(['sns:Publish'], [i.topicArn]),
    allow(['kms:GenerateDataKey', 'kms:Decrypt'], [i.topicKeyArn], viaService('sns', i.region)),
  ];
}

function certificateSecretsStatement(actions: string[], i: PolicyInputs): iam.PolicyStatement[] {
  return i.usesSecretsManagerStore
    ? [allow(actions, [runtimeSecretsArn(i, 'certificate')], undefined, NAG_RUNTIME_SECRETS)]
    : [];
}

/**
 * Finding the deployment's ACM certificate: every imported certificate's tags are read to find
 * the one tagged for it (ListTagsForCertificate cannot be narrowed by a tag it has not read yet),
 * and ListCertificates supports no resource.
 */
function acmFind(i: PolicyInputs): iam.PolicyStatement[] {
  return [
    allow(['acm:ListTagsForCertificate'], acmCertificatesArns(i), undefined, NAG_ACM_CERTIFICATES),
    allow(['acm:ListCertificates'], ['*'], undefined, NAG_ACM_LIST),
  ];
}

function acmCertificatesArns(i: PolicyInputs): string[] {
  return i.acmRegions.map((r) => acmCertificatesArn(i.partition, r, i.account));
}

/**
 * Reading what the stores hold, metadata only: the secrets' tags (the private key is never
 * read) and, for the ACM store, the certificate in every region it imports into: described only
 * when it carries the deployment's tag.
 */
function storeReads(i: PolicyInputs): iam.PolicyStatement[] {
  const out = certificateSecretsStatement(['secretsmanager:DescribeSecret'], i);
  if (i.acmRegions.length > 0) {
    out.push(
      allow(['acm:DescribeCertificate'], acmCertificatesArns(i), {
        StringEquals: taggedForDeployment(i.secretNamePrefix),
      }),
      ...acmFind(i),
    );
  }
  return out;
}

/**
 * ACM writes, each on certflow's own certificates only (Service Authorization Reference, AWS
 * Certificate Manager: the `certificate` resource takes `aws:ResourceTag/${TagKey}`;
 * ImportCertificate, AddTagsToCertificate and RemoveTagsFromCertificate take
 * `aws:RequestTag/${TagKey}` and `aws:TagKeys`):
 * - a re-import (ImportCertificate with CertificateArn) into a certificate tagged for the
 *   deployment; ACM refuses tags on a re-import ("You cannot apply tags when reimporting a
 *   certificate", ImportCertificate API reference), so the tag stays as the first import set it;
 * - a new import only with the deployment's tag in the request and no tag key but certflow's;
 * - tagging (the CertID tag replaced after a re-import) of the deployment's certificates, and of
 *   that tag key only: the deployment and certificate tags are never changed.
 */
function acmWrites(i: PolicyInputs): iam.PolicyStatement[] {
  const certificates = acmCertificatesArns(i);
  const own = taggedForDeployment(i.secretNamePrefix);
  return [
    allow(['acm:ImportCertificate'], certificates, { StringEquals: own }),
    allow(['acm:ImportCertificate'], certificates, {
      StringEquals: { [`aws:RequestTag/${DEPLOYMENT_TAG}`]: i.secretNamePrefix },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [...ACM_TAG_KEYS] },
    }),
    allow(['acm:AddTagsToCertificate', 'acm:RemoveTagsFromCertificate'], certificates, {
      StringEquals: own,
      'ForAllValues:StringEquals': { 'aws:TagKeys': [ACM_ARI_TAG] },
    }),
    ...acmFind(i),
  ];
}

function selectDue(i: PolicyInputs): iam.PolicyStatement[] {
  const out = [
    // SelectDue registers (or loads) the ACME account once per run (RFC 8555 §7.3): one secret per
    // directory, created if absent (CreateSecret with tags needs TagResource too).
    allow(
      [
        'secretsmanager:GetSecretValue',
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:TagResource',
      ],
      [runtimeSecretsArn(i, 'acme-account')],
      undefined,
      NAG_RUNTIME_SECRETS,
    ),
    ...secretsKeyStatements(['kms:Decrypt', 'kms:GenerateDataKey'], i),
    ...storeReads(i),
  ];
  if (i.eabSecretArn !== undefined) {
    // As configured, and with Secrets Manager's random suffix in case it is a partial ARN.
    out.push(allow(['secretsmanager:GetSecretValue'], [i.eabSecretArn, `${i.eabSecretArn}-??????`]));
  }
  return out;
}

function finalizeAndStore(i: PolicyInputs): iam.PolicyStatement[] {
  const out = [
    ...certificateSecretsStatement(
      // The first store creates the secret; later ones add versions (PutSecretValue keeps the
      // previous version as AWSPREVIOUS); metadata goes in tags (stale certflow:* tags removed).
      [
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:DescribeSecret',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
      ],
      i,
    ),
    allow(
      ['secretsmanager:GetSecretValue'],
      [runtimeSecretsArn(i, 'acme-account')],
      undefined,
      NAG_RUNTIME_SECRETS,
    ),
    // The order's key, kept between attempts so a repeated FinalizeAndStore reuses it.
    allow(
      [
        'secretsmanager:GetSecretValue',
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:TagResource',
      ],
      [runtimeSecretsArn(i, 'pending-key')],
      undefined,
      NAG_RUNTIME_SECRETS,
    ),
    ...secretsKeyStatements(['kms:GenerateDataKey', 'kms:Decrypt'], i),
  ];
  // Re-import into the same ARN (found by its certflow:certificate and certflow:deployment tags)
  // keeps CloudFront/ALB attachments; the ARI tag is replaced on each import.
  if (i.acmRegions.length > 0) out.push(...acmWrites(i));
  if (i.acmRegions.length > 0 && i.acmAlarmNamePrefix !== undefined) {
    // Only alarms named with the deployment's prefix, in the function's region, and only ones
    // that notify the alerts topic (CloudWatch user guide, "Using condition keys to limit alarm
    // actions": cloudwatch:AlarmActions).
    out.push(
      allow(
        ['cloudwatch:PutMetricAlarm'],
        [`arn:${i.partition}:cloudwatch:${i.region}:${i.account}:alarm:${i.acmAlarmNamePrefix}*`],
        { 'ForAllValues:StringEquals': { 'cloudwatch:AlarmActions': [i.topicArn] } },
        NAG_ACM_ALARMS,
      ),
    );
  }
  return out;
}

/**
 * The statements of one Task step's role (besides writing its own log group, see
 * {@link logWriteStatements}).
 */
export function stepPolicyStatements(step: TaskStep, inputs: PolicyInputs): iam.PolicyStatement[] {
  switch (step) {
    case 'SelectDue':
      return [...selectDue(inputs), ...orderBudget(inputs)];
    case 'CreateOrder':
      return [...accountSecretRead(inputs), ...orderBudget(inputs)];
    case 'AnswerChallenges':
    case 'CheckOrder':
      return accountSecretRead(inputs);
    case 'PublishRecords':
    case 'Cleanup':
      return [...recordWrites(inputs), ...pendingRecords(step, inputs)];
    case 'CheckPropagation':
      return [
        allow(
          ['route53:GetChange'],
          [`arn:${inputs.partition}:route53:::change/*`],
          undefined,
          NAG_ROUTE53_CHANGE,
        ),
      ];
    case 'FinalizeAndStore':
      return finalizeAndStore(inputs);
    case 'RecordFailure':
      return alertPublish(inputs);
    case 'Summarize':
      // The stores are read for the certificates of a batch that failed as a whole.
      return [...alertPublish(inputs), ...storeReads(inputs)];
  }
}

/** Writing to the function's own log group (instead of the AWSLambdaBasicExecutionRole managed policy). */
export function logWriteStatements(logGroupArn: string): iam.PolicyStatement[] {
  return [allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [logGroupArn])];
}
