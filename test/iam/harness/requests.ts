/**
 * Recorded SDK calls as IAM request contexts: the action (service prefix + operation, as the
 * Service Authorization Reference names them), the resource ARN the action authorizes on, and
 * the condition keys AWS computes from the request. Calls AWS services make on the function's
 * behalf (KMS for Secrets Manager and SNS) are modelled as their own requests.
 */
import type { TaskStep } from '../../../lambdas/core/state';
import type { Deployment } from '../../support/cfn-resolve';
import type { DeployedAccount } from './deployment';
import type { RecordedCall } from './fake-aws';

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

/** Tag condition keys (`aws:RequestTag/<key>`, `aws:TagKeys`) of a tagging request. */
function tagContext(
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
 *   `GenerateDataKey` to encrypt a new secret value (CreateSecret, PutSecretValue, UpdateSecret),
 *   `Decrypt` to decrypt it (GetSecretValue); encryption context `SecretARN` and
 *   `SecretVersionId`; `kms:ViaService` = `secretsmanager.<region>.amazonaws.com`.
 * - SNS (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "Allow a user to
 *   send messages to a topic with SSE"): a publisher needs `kms:GenerateDataKey` and
 *   `kms:Decrypt` on the topic's key; `kms:ViaService` = `sns.<region>.amazonaws.com`.
 * Only calls that succeeded are turned into requests (a refused call proves nothing here).
 */
export function iamRequestsOf(call: RecordedCall, account: DeployedAccount): IamRequest[] {
  if (!call.ok) return [];
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
      const arn =
        call.operation === 'CreateSecret'
          ? String((call.output as { ARN?: string }).ARN)
          : secretArnOf(String(input.SecretId), account);
      const out = [
        one(
          `secretsmanager:${call.operation}`,
          arn,
          secretLabel(arn, account),
          call.operation === 'TagResource' || call.operation === 'CreateSecret'
            ? tagContext(input.Tags as { Key?: string; Value?: string }[] | undefined)
            : call.operation === 'UntagResource'
              ? tagContext(undefined, input.TagKeys as string[])
              : {},
        ),
      ];
      const key = account.secretKeys.get(arn);
      const kmsAction =
        call.operation === 'GetSecretValue'
          ? 'kms:Decrypt'
          : call.operation === 'PutSecretValue' || call.operation === 'CreateSecret'
            ? 'kms:GenerateDataKey'
            : undefined;
      if (key && kmsAction) {
        out.push({
          ...one(kmsAction, key, `key of ${secretLabel(arn, account)}`, {
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
    case 'acm': {
      const acmArn = (arn: unknown) => String(arn);
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
              tagContext(input.Tags as { Key?: string; Value?: string }[] | undefined),
            ),
          ];
        }
        case 'AddTagsToCertificate':
          return [
            one(
              'acm:AddTagsToCertificate',
              acmArn(input.CertificateArn),
              `tag (${call.region})`,
              tagContext(input.Tags as { Key?: string; Value?: string }[]),
            ),
          ];
        case 'RemoveTagsFromCertificate':
          return [
            one(
              'acm:RemoveTagsFromCertificate',
              acmArn(input.CertificateArn),
              `untag (${call.region})`,
              tagContext(
                undefined,
                (input.Tags as { Key: string }[]).map((t) => t.Key),
              ),
            ),
          ];
        default:
          return [one(`acm:${call.operation}`, acmArn(input.CertificateArn), `(${call.region})`)];
      }
    }
    case 'sns': {
      const topic = String(input.TopicArn);
      const out = [one('sns:Publish', topic, 'alert')];
      const key = account.topicKeys.get(topic);
      if (key) {
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          out.push({
            ...one(action, key, 'key of the alerts topic', {
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

function secretArnOf(id: string, account: DeployedAccount): string {
  if (id.startsWith('arn:')) return id;
  for (const [arn, s] of account.secrets) if (s.name === id) return arn;
  throw new Error(`secret ${id} is not one the stack creates`);
}

/**
 * What a secret holds, from its name, for the table and the forbidden list: the stack's
 * `<prefix>/_acme-account` and `<prefix>/<certificate>`, and the runtime names the data model is
 * moving to, `<prefix>/acme-account/<hash>`, `<prefix>/certificate/<name>` and
 * `<prefix>/pending-key/<name>`.
 */
export function secretLabel(arn: string, account: DeployedAccount): string {
  const name = account.secrets.get(arn)?.name ?? arn;
  const parts = name.split('/');
  const last = parts.pop() ?? name;
  const kind = parts.pop();
  if (last === '_acme-account' || kind === 'acme-account') return 'ACME account secret';
  if (kind === 'pending-key') return `pending private key ${last}`;
  return `certificate secret ${last}`;
}
