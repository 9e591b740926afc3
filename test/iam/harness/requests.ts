/**
 * Recorded SDK calls as IAM request contexts: the action (service prefix + operation, as the
 * Service Authorization Reference names them), the resource ARN the action authorizes on, and
 * the condition keys AWS computes from the request. Calls AWS services make on the function's
 * behalf (KMS for Secrets Manager and SNS) are modelled as their own requests.
 */
import type { TaskStep } from '../../../lambdas/core/state';
import type { Deployment } from '../../support/cfn-resolve';
import type { DeployedAccount } from './deployment';
import { AUTHORIZED_ERRORS, type RecordedCall } from './fake-aws';

/** One request IAM evaluates. */
export interface IamRequest {
  /** The function (role) making it. */
  step: TaskStep;
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** A short human description: what the pipeline did. */
  summary: string;
  /** For implied calls: the call that caused it (e.g. `secretsmanager:GetSecretValue`). */
  via?: string;
}

/**
 * `route53:ChangeResourceRecordSetsNormalizedRecordNames` for one record name, as the Route 53
 * developer guide defines the normalization ("Using IAM policy conditions for fine-grained access
 * control to manage resource record sets", "Normalizing the condition key values",
 * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html):
 * all letters lowercase; no trailing dot; every character other than a-z, 0-9, `-`, `_` and `.`
 * written as a `\ddd` three-digit octal escape (`\052` for `*`). A name already written with
 * `\ddd` escapes (as ListResourceRecordSets returns them) is read through its escapes first.
 */
export function normalizedRecordName(name: string): string {
  const unescaped = name.replace(/\\([0-7]{3})/g, (_m, o: string) =>
    String.fromCharCode(Number.parseInt(o, 8)),
  );
  let out = '';
  for (const byte of Buffer.from(unescaped.replace(/\.$/, '').toLowerCase(), 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9._-]/.test(ch) ? ch : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}

interface Change {
  Action?: string;
  ResourceRecordSet?: { Name?: string; Type?: string };
}

/**
 * The three `route53:ChangeResourceRecordSets*` keys of a change batch (each a set: every
 * distinct value in the batch), as AWS computes them.
 */
export function changeBatchContext(changes: Change[]): Record<string, string[]> {
  const distinct = (xs: string[]) => [...new Set(xs)];
  return {
    'route53:ChangeResourceRecordSetsRecordTypes': distinct(
      changes.map((c) => String(c.ResourceRecordSet?.Type)),
    ),
    'route53:ChangeResourceRecordSetsActions': distinct(changes.map((c) => String(c.Action))),
    'route53:ChangeResourceRecordSetsNormalizedRecordNames': distinct(
      changes.map((c) => normalizedRecordName(String(c.ResourceRecordSet?.Name))),
    ),
  };
}

const hostedZoneArn = (d: Deployment, id: string) =>
  `arn:${d.partition}:route53:::hostedzone/${id.replace(/^\/hostedzone\//, '')}`;

/** Global keys AWS adds to every request a Lambda function's role makes over HTTPS. */
function globalContext(d: Deployment, principalArn: string, region: string): Record<string, string> {
  return {
    'aws:SecureTransport': 'true',
    'aws:PrincipalArn': principalArn.replace(/:sts::(\d+):assumed-role\/([^/]+)\/.*$/, ':iam::$1:role/$2'),
    'aws:PrincipalAccount': d.account,
    'aws:PrincipalType': 'AssumedRole',
    'aws:RequestedRegion': region,
  };
}

/** `aws:ResourceTag/<key>` of a request on a resource with these tags. */
export function resourceTagContext(tags: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
}

/** Tag condition keys (`aws:RequestTag/<key>`, `aws:TagKeys`) of a tagging request. */
export function tagContext(
  tags: { Key?: string; Value?: string }[] | undefined,
  keys?: string[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const list = tags ?? [];
  for (const t of list) if (t.Key && t.Value !== undefined) out[`aws:RequestTag/${t.Key}`] = t.Value;
  const tagKeys = keys ?? list.flatMap((t) => (t.Key ? [t.Key] : []));
  if (tagKeys.length > 0) out['aws:TagKeys'] = tagKeys;
  return out;
}

/**
 * The IAM requests one recorded call makes. Secrets Manager and SNS calls that touch encrypted
 * data also yield the KMS requests those services make with the caller's credentials, as AWS
 * documents them:
 * - Secrets Manager (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html):
 *   "Whenever the secret value in a secret changes, Secrets Manager requests a new data key":
 *   `GenerateDataKey` for PutSecretValue; `Decrypt` to read it (GetSecretValue, and its API
 *   reference: "If the secret is encrypted using a customer-managed key ... you also need
 *   kms:Decrypt"); encryption context `SecretARN` and `SecretVersionId`; `kms:ViaService` =
 *   `secretsmanager.<region>.amazonaws.com`.
 * - CreateSecret (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html,
 *   "Required permissions"; also in node_modules/@aws-sdk/client-secrets-manager/dist-types/commands/CreateSecretCommand.d.ts):
 *   "If you include tags in the secret, you also need secretsmanager:TagResource" (modelled as a
 *   TagResource request on the new secret with the same tag keys), and "To encrypt the secret with
 *   a KMS key other than aws/secretsmanager, you need kms:GenerateDataKey and kms:Decrypt
 *   permission to the key".
 * - SNS (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "Allow a user to
 *   send messages to a topic with SSE"): a publisher needs `kms:GenerateDataKey` and
 *   `kms:Decrypt` on the topic's key; `kms:ViaService` = `sns.<region>.amazonaws.com`.
 * - DynamoDB: the pending-values table is encrypted with the AWS managed key `aws/dynamodb`,
 *   whose key policy (managed by AWS, not in the template) lets DynamoDB use it for callers in
 *   the account; no KMS request of the roles is modelled for it.
 * Calls that succeeded are requests; so are calls refused with an error AWS gives only after
 * authorizing them ({@link AUTHORIZED_ERRORS}: a secret not found, a name already taken, an
 * execution that no longer exists), on the resource named in the request (a secret that does not
 * exist is its name, without a suffix). Implied KMS requests only follow calls that succeeded.
 * Any other refusal proves nothing here.
 */
export function iamRequestsOf(call: RecordedCall, account: DeployedAccount): IamRequest[] {
  const authorized = call.ok || (call.error !== undefined && AUTHORIZED_ERRORS.has(call.error));
  if (!authorized) return [];
  const refused = call.ok ? '' : ` (${call.error})`;
  const d = account.deployment;
  const fn = account.functions[call.step];
  const base = globalContext(d, fn.principalArn, call.region);
  const input = call.input;
  const one = (
    action: string,
    resource: string,
    summary: string,
    extra: Record<string, string | string[]> = {},
  ): IamRequest => ({
    step: call.step,
    action,
    resource,
    context: { ...base, ...extra },
    summary,
  });
  switch (call.service) {
    case 'route53': {
      const zone = String(input.HostedZoneId ?? '');
      switch (call.operation) {
        case 'ChangeResourceRecordSets': {
          const changes = ((input.ChangeBatch as { Changes?: Change[] } | undefined)?.Changes ??
            []) as Change[];
          const ctx = changeBatchContext(changes);
          const describe = changes.map(
            (c) =>
              `${c.Action} ${c.ResourceRecordSet?.Type} ${normalizedRecordName(String(c.ResourceRecordSet?.Name))}`,
          );
          return [one('route53:ChangeResourceRecordSets', hostedZoneArn(d, zone), describe.join(', '), ctx)];
        }
        case 'ListResourceRecordSets':
          return [
            one(
              'route53:ListResourceRecordSets',
              hostedZoneArn(d, zone),
              `list ${String(input.StartRecordName)} ${String(input.StartRecordType)}`,
            ),
          ];
        case 'GetChange': {
          const id = String(input.Id).replace(/^\/change\//, '');
          return [one('route53:GetChange', `arn:${d.partition}:route53:::change/${id}`, `change ${id}`)];
        }
      }
      break;
    }
    case 'secretsmanager': {
      // A refused call (the secret did not exist, or CreateSecret's name was taken) is evaluated
      // on the name it asked for: the table is built after the runs, when the secret may exist.
      const named = String(input.SecretId ?? input.Name);
      const arn =
        call.operation === 'CreateSecret' && call.ok
          ? String((call.output as { ARN?: string }).ARN)
          : call.ok
            ? secretArnOf(named, account, call.region)
            : nameArn(named, account, call.region);
      const label = `${secretLabel(arn, account)}${refused}`;
      const tags = input.Tags as { Key?: string; Value?: string }[] | undefined;
      const out = [
        one(
          `secretsmanager:${call.operation}`,
          arn,
          label,
          call.operation === 'TagResource' || call.operation === 'CreateSecret'
            ? tagContext(tags)
            : call.operation === 'UntagResource'
              ? tagContext(undefined, input.TagKeys as string[])
              : {},
        ),
      ];
      if (call.operation === 'CreateSecret' && (tags?.length ?? 0) > 0) {
        out.push({
          ...one('secretsmanager:TagResource', arn, `${label}, tags given to CreateSecret`, tagContext(tags)),
          via: 'secretsmanager:CreateSecret',
        });
      }
      const key = call.ok ? account.secretKeys.get(arn) : undefined;
      const kmsActions =
        call.operation === 'GetSecretValue'
          ? ['kms:Decrypt']
          : call.operation === 'PutSecretValue'
            ? ['kms:GenerateDataKey']
            : call.operation === 'CreateSecret'
              ? ['kms:GenerateDataKey', 'kms:Decrypt']
              : [];
      for (const kmsAction of key ? kmsActions : []) {
        out.push({
          ...one(kmsAction, key as string, `key of ${secretLabel(arn, account)}`, {
            // KMS reads the key's own tags ("ABAC for AWS KMS").
            ...resourceTagContext(account.keyTags.get(key as string)),
            'kms:ViaService': `secretsmanager.${call.region}.amazonaws.com`,
            'kms:CallerAccount': d.account,
            'kms:EncryptionContext:SecretARN': arn,
            'kms:EncryptionContext:SecretVersionId': String(
              (call.output as { VersionId?: string } | undefined)?.VersionId ?? '',
            ),
            'kms:EncryptionContextKeys': ['SecretARN', 'SecretVersionId'],
          }),
          via: `secretsmanager:${call.operation}`,
        });
      }
      return out;
    }
    case 'dynamodb': {
      const tables =
        call.operation === 'BatchWriteItem'
          ? Object.keys((input.RequestItems ?? {}) as Record<string, unknown>)
          : [String(input.TableName)];
      return tables.map((table) => {
        const requests = ((input.RequestItems as Record<string, { DeleteRequest?: unknown }[]> | undefined)?.[
          table
        ] ?? []) as { DeleteRequest?: unknown; PutRequest?: unknown }[];
        // The item's partition key, as IAM sees it (dynamodb:LeadingKeys, "Using IAM policy
        // conditions for fine-grained access control" in the DynamoDB developer guide).
        const pk =
          call.operation === 'GetItem'
            ? ((input.Key as Record<string, { S?: string }> | undefined)?.pk?.S ?? '')
            : call.operation === 'PutItem'
              ? ((input.Item as Record<string, { S?: string }> | undefined)?.pk?.S ?? '')
              : undefined;
        const budget = pk?.startsWith('order-budget|') === true;
        const what =
          call.operation === 'BatchWriteItem'
            ? `${requests.filter((r) => r.DeleteRequest).length} DeleteRequest, ${requests.filter((r) => r.PutRequest).length} PutRequest`
            : budget
              ? `the new-order budget item (${call.operation})`
              : call.operation === 'PutItem'
                ? 'one pending value'
                : 'every pending value';
        return one(
          `dynamodb:${call.operation}`,
          tableArnOf(table, account, call.region),
          `${what}${refused}`,
          pk === undefined ? {} : { 'dynamodb:LeadingKeys': [pk] },
        );
      });
    }
    case 'states': {
      const arn = String(input.executionArn);
      const status = (call.output as { status?: string } | undefined)?.status;
      return [
        one(
          `states:${call.operation}`,
          arn,
          `execution ${arn.split(':').pop()}${status ? ` (${status})` : refused}`,
        ),
      ];
    }
    case 'acm': {
      const acmArn = (arn: unknown) => String(arn);
      // A request on an existing certificate carries its tags as aws:ResourceTag/<key> (Service
      // Authorization Reference, AWS Certificate Manager: the certificate resource type).
      const onResource = resourceTagContext(call.resourceTags);
      switch (call.operation) {
        case 'ListCertificates':
          return [one('acm:ListCertificates', '*', `list (${call.region})`)];
        case 'ImportCertificate': {
          const arn = input.CertificateArn
            ? acmArn(input.CertificateArn)
            : acmArn((call.output as { CertificateArn?: string }).CertificateArn);
          return [
            one(
              'acm:ImportCertificate',
              arn,
              `${input.CertificateArn ? 're-import' : 'new import'} (${call.region})`,
              {
                ...onResource,
                ...tagContext(input.Tags as { Key?: string; Value?: string }[] | undefined),
              },
            ),
          ];
        }
        case 'AddTagsToCertificate':
          return [
            one('acm:AddTagsToCertificate', acmArn(input.CertificateArn), `tag (${call.region})`, {
              ...onResource,
              ...tagContext(input.Tags as { Key?: string; Value?: string }[]),
            }),
          ];
        case 'RemoveTagsFromCertificate':
          return [
            one('acm:RemoveTagsFromCertificate', acmArn(input.CertificateArn), `untag (${call.region})`, {
              ...onResource,
              ...tagContext(
                undefined,
                (input.Tags as { Key: string }[]).map((t) => t.Key),
              ),
            }),
          ];
        default:
          return [one(`acm:${call.operation}`, acmArn(input.CertificateArn), `(${call.region})`, onResource)];
      }
    }
    case 'cloudwatch': {
      if (call.operation === 'PutMetricAlarm') {
        return [
          one(
            'cloudwatch:PutMetricAlarm',
            `arn:${d.partition}:cloudwatch:${call.region}:${d.account}:alarm:${String(input.AlarmName)}`,
            `alarm on ${alarmMetricOf(input)}${refused}`,
            alarmActionsContext(input),
          ),
        ];
      }
      break;
    }
    case 'sns': {
      const topic = String(input.TopicArn);
      const out = [one('sns:Publish', topic, 'alert')];
      const key = account.topicKeys.get(topic);
      if (key) {
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          out.push({
            ...one(action, key, 'key of the alerts topic', {
              ...resourceTagContext(account.keyTags.get(key)),
              'kms:ViaService': `sns.${call.region}.amazonaws.com`,
              'kms:CallerAccount': d.account,
            }),
            via: 'sns:Publish',
          });
        }
      }
      return out;
    }
  }
  throw new Error(
    `no IAM mapping for ${call.service}:${call.operation}; add one in test/iam/harness/requests.ts`,
  );
}

/** The namespace and name of the metric a PutMetricAlarm request watches (directly or in metric math). */
function alarmMetricOf(input: Record<string, unknown>): string {
  const stat = (input.Metrics as { MetricStat?: { Metric?: Record<string, unknown> } }[] | undefined)?.find(
    (m) => m.MetricStat,
  )?.MetricStat?.Metric;
  const metric = stat ?? input;
  return `${String(metric.Namespace)} ${String(metric.MetricName)}`;
}

/**
 * `cloudwatch:AlarmActions` of a PutMetricAlarm request: every action the alarm would perform, on
 * any state change (ALARM, OK or INSUFFICIENT_DATA), so the request's `AlarmActions`,
 * `OKActions` and `InsufficientDataActions` together (CloudWatch user guide, "Using condition
 * keys to limit alarm actions",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-alarm-actions.html:
 * "These actions can be initiated when the alarm changes to any state, including ALARM, OK, or
 * INSUFFICIENT_DATA. Use the cloudwatch:AlarmActions condition key to allow a user to create
 * alarms that can only perform the actions you specify"). A request with no action carries no key.
 */
export function alarmActionsContext(input: Record<string, unknown>): Record<string, string[]> {
  const actions = [
    ...new Set(
      (['AlarmActions', 'OKActions', 'InsufficientDataActions'] as const).flatMap(
        (k) => (input[k] as string[] | undefined) ?? [],
      ),
    ),
  ];
  return actions.length > 0 ? { 'cloudwatch:AlarmActions': actions } : {};
}

/**
 * The ARN IAM evaluates for a secret named in a request: the secret's full ARN when it exists,
 * else (not created yet) the ARN of its name without Secrets Manager's suffix.
 */
function secretArnOf(id: string, account: DeployedAccount, region: string): string {
  if (id.startsWith('arn:')) return id;
  for (const [arn, s] of account.secrets) if (s.name === id) return arn;
  return nameArn(id, account, region);
}

/** `arn:…:secret:<name>`: a secret named in a request, without the suffix of one that exists. */
function nameArn(id: string, account: DeployedAccount, region: string): string {
  if (id.startsWith('arn:')) return id;
  const d = account.deployment;
  return `arn:${d.partition}:secretsmanager:${region}:${d.account}:secret:${id}`;
}

/** The ARN of a DynamoDB table named in a request (`arn:…:dynamodb:<region>:<account>:table/<name>`). */
function tableArnOf(name: string, account: DeployedAccount, region: string): string {
  const known = account.tables.get(name);
  if (known) return known;
  const d = account.deployment;
  return `arn:${d.partition}:dynamodb:${region}:${d.account}:table/${name}`;
}

/** The prefix the deployment creates its secrets under (CERTFLOW_SECRET_NAME_PREFIX). */
export function secretNamePrefix(account: DeployedAccount): string {
  const prefix = account.functions.SelectDue.environment.CERTFLOW_SECRET_NAME_PREFIX;
  if (!prefix) throw new Error('SelectDue has no CERTFLOW_SECRET_NAME_PREFIX in its environment');
  return prefix;
}

export type SecretKind = 'acme-account' | 'certificate' | 'pending-key' | 'other';

/**
 * What a secret is, from its name: `<prefix>/acme-account/<hash>`, `<prefix>/certificate/<name>`,
 * `<prefix>/pending-key/<name>` (lambdas/adapters/aws/secret-names.ts), or another secret.
 */
export function secretKind(arn: string, account: DeployedAccount): { kind: SecretKind; name: string } {
  const name =
    account.secrets.get(arn)?.name ?? arn.replace(/^arn:[^:]+:secretsmanager:[^:]*:\d*:secret:/, '');
  const prefix = secretNamePrefix(account);
  for (const kind of ['acme-account', 'certificate', 'pending-key'] as const) {
    if (name.startsWith(`${prefix}/${kind}/`))
      return { kind, name: name.slice(prefix.length + kind.length + 2) };
  }
  return { kind: 'other', name };
}

/** What a secret holds, for the tables and the forbidden list. */
export function secretLabel(arn: string, account: DeployedAccount): string {
  const { kind, name } = secretKind(arn, account);
  switch (kind) {
    case 'acme-account':
      return 'ACME account secret';
    case 'pending-key':
      return `pending private key ${name}`;
    case 'certificate':
      return `certificate secret ${name}`;
    case 'other':
      return `secret ${name} (outside ${secretNamePrefix(account)}/)`;
  }
}
