/**
 * Calls the pipeline must never be able to make, as IAM requests, derived from the deployment
 * and from what the recorded runs did (so they follow the data model when it changes). Each
 * entry says why it must be denied; every one is evaluated for the functions it names.
 */
import { TASK_STEPS, type TaskStep } from '../../../lambdas/core/state';
import type { DeployedAccount } from './deployment';
import { changeBatchContext, type IamRequest, secretLabel } from './requests';

export interface ForbiddenRequest extends IamRequest {
  /** Why it must be denied (the posture it protects). */
  rule: string;
}

export interface ForbiddenInputs {
  account: DeployedAccount;
  /** The delegated zone name and its hosted zone id. */
  zone: string;
  hostedZoneId: string;
  /** What the recorded runs requested (allowed or not), to derive "functions that do not use X". */
  recorded: IamRequest[];
}

/** The must-never list. Add a rule here when the data model grows (see the header of iam-evaluation.test.ts). */
export function forbiddenRequests({
  account,
  zone,
  hostedZoneId,
  recorded,
}: ForbiddenInputs): ForbiddenRequest[] {
  const d = account.deployment;
  const out: ForbiddenRequest[] = [];
  const base = (step: TaskStep, region: string): Record<string, string> => ({
    'aws:SecureTransport': 'true',
    'aws:PrincipalArn': account.functions[step].roleArn,
    'aws:PrincipalAccount': d.account,
    'aws:PrincipalType': 'AssumedRole',
    'aws:RequestedRegion': region,
  });
  const add = (
    rule: string,
    steps: readonly TaskStep[],
    make: (step: TaskStep) => Omit<IamRequest, 'step'>,
  ) => {
    for (const step of steps) out.push({ ...make(step), step, rule });
  };
  const zoneArn = (id: string) => `arn:${d.partition}:route53:::hostedzone/${id}`;
  const below = `_acme-challenge-target.${zone}`;
  const batch = (
    step: TaskStep,
    changes: { Action: string; Type: string; Name: string }[],
    id = hostedZoneId,
  ) => ({
    action: 'route53:ChangeResourceRecordSets',
    resource: zoneArn(id),
    context: {
      ...base(step, 'us-east-1'),
      ...changeBatchContext(
        changes.map((c) => ({ Action: c.Action, ResourceRecordSet: { Name: c.Name, Type: c.Type } })),
      ),
    },
    summary: changes.map((c) => `${c.Action} ${c.Type} ${c.Name}`).join(', '),
  });

  // ---- DNS: only TXT, only CREATE/DELETE, only below the delegated zone, only that zone ----
  add('UPSERT is a blind overwrite; only CREATE/DELETE are allowed', TASK_STEPS, (s) =>
    batch(s, [{ Action: 'UPSERT', Type: 'TXT', Name: below }]),
  );
  add('only TXT records may be written', TASK_STEPS, (s) =>
    batch(s, [{ Action: 'CREATE', Type: 'A', Name: below }]),
  );
  add('only TXT records may be written (a valid TXT change does not carry an A change)', TASK_STEPS, (s) =>
    batch(s, [
      { Action: 'CREATE', Type: 'TXT', Name: below },
      { Action: 'CREATE', Type: 'CNAME', Name: `www.${zone}` },
    ]),
  );
  add('names outside the delegated zone (the primary zone) must not be written', TASK_STEPS, (s) =>
    batch(s, [
      { Action: 'CREATE', Type: 'TXT', Name: `_acme-challenge.example.${zone.split('.').slice(-1)[0]}` },
    ]),
  );
  add('the delegated zone apex must not be written', TASK_STEPS, (s) =>
    batch(s, [{ Action: 'DELETE', Type: 'TXT', Name: zone }]),
  );
  add('a look-alike zone name must not match', TASK_STEPS, (s) =>
    batch(s, [{ Action: 'CREATE', Type: 'TXT', Name: `x.evil${zone}` }]),
  );
  add(
    'another hosted zone must not be written, even with TXT below the delegated zone name',
    TASK_STEPS,
    (s) => batch(s, [{ Action: 'CREATE', Type: 'TXT', Name: below }], 'Z0OTHERZONE0EXAMPLE'),
  );
  add('another hosted zone must not be read', TASK_STEPS, (s) => ({
    action: 'route53:ListResourceRecordSets',
    resource: zoneArn('Z0OTHERZONE0EXAMPLE'),
    context: base(s, 'us-east-1'),
    summary: 'list another zone',
  }));

  // ---- certificate secrets: written only by FinalizeAndStore; private keys read by nobody ----
  const certificateSecrets = [...account.secrets.keys()].filter((arn) =>
    secretLabel(arn, account).startsWith('certificate secret'),
  );
  for (const arn of certificateSecrets) {
    for (const op of ['PutSecretValue', 'TagResource', 'UntagResource', 'UpdateSecret', 'DeleteSecret']) {
      add(
        'only FinalizeAndStore writes certificate secrets',
        TASK_STEPS.filter((s) => s !== 'FinalizeAndStore' || ['UpdateSecret', 'DeleteSecret'].includes(op)),
        (s) => ({
          action: `secretsmanager:${op}`,
          resource: arn,
          context: base(s, d.region),
          summary: secretLabel(arn, account),
        }),
      );
    }
    add("no function reads a certificate's private key (GetSecretValue)", TASK_STEPS, (s) => ({
      action: 'secretsmanager:GetSecretValue',
      resource: arn,
      context: base(s, d.region),
      summary: secretLabel(arn, account),
    }));
  }

  // ---- the ACME account key: read only by the functions that use it ----
  for (const accountSecret of [...account.secrets.keys()].filter((arn) =>
    secretLabel(arn, account).startsWith('ACME'),
  )) {
    const readers = new Set(
      recorded
        .filter((r) => r.action === 'secretsmanager:GetSecretValue' && r.resource === accountSecret)
        .map((r) => r.step),
    );
    const writers = new Set(
      recorded
        .filter((r) => r.action === 'secretsmanager:PutSecretValue' && r.resource === accountSecret)
        .map((r) => r.step),
    );
    const key = account.secretKeys.get(accountSecret);
    add(
      'the ACME account key is read only by the functions that use it',
      TASK_STEPS.filter((s) => !readers.has(s)),
      (s) => ({
        action: 'secretsmanager:GetSecretValue',
        resource: accountSecret,
        context: base(s, d.region),
        summary: 'ACME account secret',
      }),
    );
    if (key) {
      add(
        'the ACME account key is decrypted only by the functions that use it',
        TASK_STEPS.filter((s) => !readers.has(s) && !writers.has(s)),
        (s) => ({
          action: 'kms:Decrypt',
          resource: key,
          context: {
            ...base(s, d.region),
            'kms:ViaService': `secretsmanager.${d.region}.amazonaws.com`,
            'kms:CallerAccount': d.account,
            'kms:EncryptionContext:SecretARN': accountSecret,
          },
          summary: 'key of ACME account secret',
          via: 'secretsmanager:GetSecretValue',
        }),
      );
    }
    add(
      'the ACME account key is written only by the function that registers the account',
      TASK_STEPS.filter((s) => !writers.has(s)),
      (s) => ({
        action: 'secretsmanager:PutSecretValue',
        resource: accountSecret,
        context: base(s, d.region),
        summary: 'ACME account secret',
      }),
    );
  }

  // ---- ACM: only FinalizeAndStore imports ----
  const acmImports = recorded.filter((r) => r.action === 'acm:ImportCertificate');
  for (const imported of new Map(acmImports.map((r) => [r.resource, r])).values()) {
    add(
      'only FinalizeAndStore imports into ACM',
      TASK_STEPS.filter((s) => s !== 'FinalizeAndStore'),
      (s) => ({
        action: 'acm:ImportCertificate',
        resource: imported.resource,
        context: base(s, String(imported.context['aws:RequestedRegion'])),
        summary: 're-import',
      }),
    );
  }

  // ---- KMS: only through the service each key is pinned to ----
  const kmsUses = new Map<string, IamRequest>();
  for (const r of recorded)
    if (r.action.startsWith('kms:')) kmsUses.set(`${r.step} ${r.action} ${r.resource}`, r);
  for (const use of kmsUses.values()) {
    const pinned = String(use.context['kms:ViaService']);
    const { 'kms:ViaService': _drop, ...direct } = use.context;
    out.push({
      ...use,
      context: direct,
      summary: `${use.summary}, called directly (no kms:ViaService)`,
      via: undefined,
      rule: 'KMS keys are usable only through the service they are pinned to',
    });
    const other = pinned.startsWith('sns.')
      ? pinned.replace(/^sns\./, 'secretsmanager.')
      : pinned.replace(/^secretsmanager\./, 'sns.');
    for (const service of [other, pinned.replace(/^[a-z]+\./, 's3.')]) {
      out.push({
        ...use,
        context: { ...use.context, 'kms:ViaService': service },
        summary: `${use.summary}, via ${service}`,
        via: undefined,
        rule: 'KMS keys are usable only through the service they are pinned to',
      });
    }
  }
  return out;
}
