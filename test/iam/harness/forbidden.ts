/**
 * Calls the pipeline must never be able to make, as IAM requests, derived from the deployment
 * and from what the recorded runs did (so they follow the data model when it changes). Each
 * entry says why it must be denied; every one is evaluated for the functions it names.
 */

import { DEPLOYMENT_TAG } from '../../../lambdas/adapters/aws/deployment-tag';
import { ACM_ARI_TAG, ACM_CERTIFICATE_TAG } from '../../../lambdas/adapters/store/acm/acm-tags';
import { TASK_STEPS, type TaskStep } from '../../../lambdas/core/state';
import type { DeployedAccount } from './deployment';
import {
  alarmActionsContext,
  changeBatchContext,
  type IamRequest,
  resourceTagContext,
  secretKind,
  secretLabel,
  secretNamePrefix,
  tagContext,
} from './requests';

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

  // ---- secrets: only under the prefix, each kind only by the functions that use it ----
  const prefix = secretNamePrefix(account);
  const secretArn = (name: string, suffix = true) =>
    `arn:${d.partition}:secretsmanager:${d.region}:${d.account}:secret:${name}${suffix ? '-AbCdEf' : ''}`;
  const secretRequest = (step: TaskStep, op: string, arn: string, summary = secretLabel(arn, account)) => ({
    action: `secretsmanager:${op}`,
    resource: arn,
    context: base(step, d.region),
    summary,
  });
  const ALL_SECRET_OPS = [
    'GetSecretValue',
    'DescribeSecret',
    'CreateSecret',
    'PutSecretValue',
    'UpdateSecret',
    'TagResource',
    'UntagResource',
    'DeleteSecret',
  ];
  // Another application's secret, and names across the prefix boundary: `<prefix>-other/…` shares
  // the prefix's characters but not its path; `<prefix>/other/…` is under the prefix but no kind
  // certflow creates.
  const outside = [
    'otherapp/db-password',
    `${prefix}-other/certificate/x`,
    `${prefix}-other/acme-account/0123456789abcdef`,
    `${prefix}-other/pending-key/x`,
    `${prefix}/other/x`,
    `${prefix}certificate/x`,
  ];
  for (const name of outside) {
    for (const op of ALL_SECRET_OPS) {
      const arn = op === 'CreateSecret' ? secretArn(name, false) : secretArn(name);
      add('a secret outside the prefix is out of reach', TASK_STEPS, (s) => secretRequest(s, op, arn));
    }
  }
  // No function deletes or re-keys a secret under the prefix, or changes one another way.
  const runtimeSecrets = [...account.secrets.keys()].filter(
    (arn) => secretKind(arn, account).kind !== 'other',
  );
  for (const arn of runtimeSecrets) {
    for (const op of ['UpdateSecret', 'DeleteSecret', 'PutResourcePolicy', 'RotateSecret']) {
      add('no function deletes, re-keys or shares a secret', TASK_STEPS, (s) => secretRequest(s, op, arn));
    }
  }

  // Certificate secrets: written only by FinalizeAndStore; their private keys read by nobody.
  const certificateSecrets = runtimeSecrets.filter((arn) => secretKind(arn, account).kind === 'certificate');
  const notFinalize = TASK_STEPS.filter((s) => s !== 'FinalizeAndStore');
  for (const arn of certificateSecrets) {
    for (const op of ['PutSecretValue', 'TagResource', 'UntagResource']) {
      add('only FinalizeAndStore writes certificate secrets', notFinalize, (s) => secretRequest(s, op, arn));
    }
    add("no function reads a certificate's private key (GetSecretValue)", TASK_STEPS, (s) =>
      secretRequest(s, 'GetSecretValue', arn),
    );
  }
  add('only FinalizeAndStore writes certificate secrets', notFinalize, (s) =>
    secretRequest(s, 'CreateSecret', secretArn(`${prefix}/certificate/new-certificate`, false)),
  );

  // Pending private keys: only FinalizeAndStore, which keeps them between its attempts.
  const pendingKeys = runtimeSecrets.filter((arn) => secretKind(arn, account).kind === 'pending-key');
  for (const arn of [...pendingKeys, secretArn(`${prefix}/pending-key/new-certificate`, false)]) {
    for (const op of ['GetSecretValue', 'PutSecretValue', 'CreateSecret', 'TagResource', 'DescribeSecret']) {
      add('pending private keys are read and written only by FinalizeAndStore', notFinalize, (s) =>
        secretRequest(s, op, arn),
      );
    }
  }

  // ---- the ACME account key: read only by the functions that use it ----
  const accountSecrets = runtimeSecrets.filter((arn) => secretKind(arn, account).kind === 'acme-account');
  for (const accountSecret of accountSecrets) {
    const readers = new Set(
      recorded
        .filter((r) => r.action === 'secretsmanager:GetSecretValue' && r.resource === accountSecret)
        .map((r) => r.step),
    );
    const writers = new Set(
      recorded
        .filter(
          (r) =>
            ['secretsmanager:PutSecretValue', 'secretsmanager:CreateSecret'].includes(r.action) &&
            r.resource === accountSecret,
        )
        .map((r) => r.step),
    );
    const key = account.secretKeys.get(accountSecret);
    add(
      'the ACME account key is read only by the functions that use it',
      TASK_STEPS.filter((s) => !readers.has(s)),
      (s) => secretRequest(s, 'GetSecretValue', accountSecret),
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
    for (const op of ['PutSecretValue', 'TagResource']) {
      add(
        'the ACME account key is written only by the function that registers the account',
        TASK_STEPS.filter((s) => !writers.has(s)),
        (s) => secretRequest(s, op, accountSecret),
      );
    }
    add(
      'the ACME account key is written only by the function that registers the account',
      TASK_STEPS.filter((s) => !writers.has(s)),
      (s) => secretRequest(s, 'CreateSecret', secretArn(`${prefix}/acme-account/0123456789abcdef`, false)),
    );
  }

  // ---- the pending-values table: PublishRecords records, Cleanup forgets and sweeps ----
  for (const [pendingTable, pendingTableArn] of account.tables) {
    // Item operations always carry the item's partition key as dynamodb:LeadingKeys.
    const pendingValueKey = `arn:${d.partition}:states:${d.region}:${d.account}:execution:x:run|_acme-challenge.www.example.test|value`;
    const tableRequest = (
      step: TaskStep,
      op: string,
      arn: string,
      summary: string,
      leadingKey = pendingValueKey,
    ) => ({
      action: `dynamodb:${op}`,
      resource: arn,
      context: {
        ...base(step, d.region),
        ...(['GetItem', 'PutItem', 'DeleteItem', 'UpdateItem'].includes(op)
          ? { 'dynamodb:LeadingKeys': [leadingKey] }
          : {}),
      },
      summary,
    });
    const otherTables = [
      `arn:${d.partition}:dynamodb:${d.region}:${d.account}:table/OtherApplicationTable`,
      `${pendingTableArn}Other`,
      `arn:${d.partition}:dynamodb:us-east-1:${d.account}:table/${pendingTable}`,
    ];
    for (const arn of otherTables) {
      for (const op of ['PutItem', 'BatchWriteItem', 'Scan', 'GetItem', 'DeleteItem']) {
        add(
          'DynamoDB: no table but the pending-values table (same name in another region included)',
          TASK_STEPS,
          (s) =>
            tableRequest(
              s,
              op,
              arn,
              arn.replace(/^.*:table\//, 'table ').concat(arn.includes(':us-east-1:') ? ' (us-east-1)' : ''),
            ),
        );
      }
    }
    const writersOfTable: readonly TaskStep[] = ['PublishRecords', 'Cleanup'];
    for (const op of ['PutItem', 'BatchWriteItem', 'DeleteItem', 'UpdateItem']) {
      add(
        'only PublishRecords and Cleanup write the pending-values table',
        TASK_STEPS.filter((s) => !writersOfTable.includes(s)),
        (s) => tableRequest(s, op, pendingTableArn, 'pending-values table'),
      );
    }
    const budgetKey = 'order-budget|https://acme-staging-v02.api.letsencrypt.org/directory';
    const budgetUsers: readonly TaskStep[] = ['SelectDue', 'CreateOrder'];
    for (const op of ['GetItem', 'PutItem']) {
      add(
        'only SelectDue and CreateOrder touch the new-order budget',
        TASK_STEPS.filter((s) => !budgetUsers.includes(s)),
        (s) => tableRequest(s, op, pendingTableArn, 'new-order budget item', budgetKey),
      );
    }
    add('the new-order budget never reaches a pending value', budgetUsers, (s) =>
      tableRequest(s, 'GetItem', pendingTableArn, 'a pending value by key'),
    );
    add('the new-order budget is changed by PutItem only', budgetUsers, (s) =>
      tableRequest(s, 'DeleteItem', pendingTableArn, 'new-order budget item', budgetKey),
    );
    add(
      'the pending-values table is read only by the sweep (Cleanup)',
      TASK_STEPS.filter((s) => s !== 'Cleanup'),
      (s) => tableRequest(s, 'Scan', pendingTableArn, 'pending-values table'),
    );
    add('PublishRecords only adds pending values', ['PublishRecords'], (s) =>
      tableRequest(s, 'BatchWriteItem', pendingTableArn, 'pending-values table'),
    );
    add('Cleanup only removes and lists pending values', ['Cleanup'], (s) =>
      tableRequest(s, 'PutItem', pendingTableArn, 'pending-values table'),
    );
    for (const op of ['DeleteTable', 'UpdateTable', 'UpdateTimeToLive']) {
      add('the pending-values table itself is never changed', TASK_STEPS, (s) =>
        tableRequest(s, op, pendingTableArn, 'pending-values table'),
      );
    }
  }

  // ---- Step Functions: only Cleanup's sweep describes this state machine's executions ----
  const machine = account.stateMachine;
  const executionsOf = (name: string) =>
    `arn:${d.partition}:states:${d.region}:${d.account}:execution:${name}:some-run`;
  for (const arn of [executionsOf('OtherStateMachine'), executionsOf(`${machine.name}Other`)]) {
    add("another state machine's executions are not described", TASK_STEPS, (s) => ({
      action: 'states:DescribeExecution',
      resource: arn,
      context: base(s, d.region),
      summary: `execution of ${arn.split(':').slice(-2, -1)[0]}`,
    }));
  }
  // Both machines: the run's, and the batch machine whose executions own the TXT values.
  for (const [own, label] of [
    [machine, 'the run state machine'],
    [account.batchStateMachine, 'the batch state machine'],
  ] as const) {
    const execution = `${own.arn.replace(':stateMachine:', ':execution:')}:some-run`;
    add(
      "only Cleanup (the sweep) describes this state machine's executions",
      TASK_STEPS.filter((s) => s !== 'Cleanup'),
      (s) => ({
        action: 'states:DescribeExecution',
        resource: execution,
        context: base(s, d.region),
        summary: `execution of ${label}`,
      }),
    );
    for (const action of ['states:StopExecution', 'states:StartExecution', 'states:GetExecutionHistory']) {
      add('the sweep only asks whether an execution is running', TASK_STEPS, (s) => ({
        action,
        resource: action === 'states:StartExecution' ? own.arn : execution,
        context: base(s, d.region),
        summary: action === 'states:StartExecution' ? label : `execution of ${label}`,
      }));
    }
  }

  // ---- ACM: only FinalizeAndStore imports ----
  const acmImports = recorded.filter((r) => r.action === 'acm:ImportCertificate');
  /**
   * `aws:ResourceTag/*` of a certificate the pipeline imported: the tags its first import gave it
   * (the request's `aws:RequestTag/*`), which AWS evaluates on every later request for it. With
   * them, a forbidden call on it is denied for what the caller may do, not for a missing tag.
   */
  const importedTags = (arn: string): Record<string, string> => {
    const first = acmImports.find((r) => r.resource === arn && r.summary.startsWith('new import'));
    return Object.fromEntries(
      Object.entries(first?.context ?? {})
        .filter(([k]) => k.startsWith('aws:RequestTag/'))
        .map(([k, v]) => [k.replace('aws:RequestTag/', 'aws:ResourceTag/'), String(v)]),
    );
  };
  for (const imported of new Map(acmImports.map((r) => [r.resource, r])).values()) {
    add(
      'only FinalizeAndStore imports into ACM',
      TASK_STEPS.filter((s) => s !== 'FinalizeAndStore'),
      (s) => ({
        action: 'acm:ImportCertificate',
        resource: imported.resource,
        context: {
          ...base(s, String(imported.context['aws:RequestedRegion'])),
          ...importedTags(imported.resource),
        },
        summary: 're-import',
      }),
    );
  }

  // ACM operations no function made (deleting, exporting, requesting, ...) are out of reach of every
  // function, on the certificates it imported; the tagging calls FinalizeAndStore makes are
  // FinalizeAndStore's only.
  const acmUsed = new Set(recorded.filter((r) => r.action.startsWith('acm:')).map((r) => r.action));
  const ACM_OPERATIONS = [
    'acm:DeleteCertificate',
    'acm:ExportCertificate',
    'acm:GetCertificate',
    'acm:RenewCertificate',
    'acm:RequestCertificate',
    'acm:ResendValidationEmail',
    'acm:UpdateCertificateOptions',
    'acm:RevokeCertificate',
    'acm:PutAccountConfiguration',
    'acm:ImportCertificate',
    'acm:AddTagsToCertificate',
    'acm:RemoveTagsFromCertificate',
    'acm:DescribeCertificate',
    'acm:ListTagsForCertificate',
    'acm:ListCertificates',
  ];
  const acmUnused = ACM_OPERATIONS.filter((a) => !acmUsed.has(a));
  const ariTagOf = () => [{ Key: ACM_ARI_TAG, Value: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGy' }];
  for (const imported of new Map(acmImports.map((r) => [r.resource, r])).values()) {
    const region = String(imported.context['aws:RequestedRegion']);
    for (const action of acmUnused) {
      add('no function makes an ACM call the pipeline does not use', TASK_STEPS, (s) => ({
        action,
        resource: ['acm:RequestCertificate', 'acm:PutAccountConfiguration'].includes(action)
          ? '*'
          : imported.resource,
        context: {
          ...base(s, region),
          ...(['acm:RequestCertificate', 'acm:PutAccountConfiguration'].includes(action)
            ? {}
            : importedTags(imported.resource)),
        },
        summary: `(${region})`,
      }));
    }
    for (const action of ['acm:AddTagsToCertificate', 'acm:RemoveTagsFromCertificate']) {
      add(
        'only FinalizeAndStore tags ACM certificates',
        TASK_STEPS.filter((s) => s !== 'FinalizeAndStore'),
        (s) => ({
          action,
          resource: imported.resource,
          context: { ...base(s, region), ...importedTags(imported.resource), ...tagContext(ariTagOf()) },
          summary: `(${region})`,
        }),
      );
    }
  }

  // ---- ACM: writes only on the certificates this deployment imported (its tag) ----
  // A certificate certflow did not import, in each region it imports into: one without tags (a
  // certificate a load balancer or CloudFront serves), one of another deployment, and one that
  // carries certflow's certificate tag but not this deployment's (tagged by hand, or by an older
  // certflow). A re-import never carries tags (ACM refuses them), so it is evaluated without.
  const regions = [...new Set(acmImports.map((r) => String(r.context['aws:RequestedRegion'])))];
  const ariTag = [{ Key: ACM_ARI_TAG, Value: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.BKGy' }];
  for (const region of regions) {
    const notOurs = `arn:${d.partition}:acm:${region}:${d.account}:certificate/0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00`;
    for (const [label, tags] of [
      ['untagged', {}],
      ["another deployment's", { [DEPLOYMENT_TAG]: `${prefix}-other`, [ACM_CERTIFICATE_TAG]: 'apex' }],
      ["certflow's name tag without the deployment's", { [ACM_CERTIFICATE_TAG]: 'apex' }],
    ] as const) {
      const on = (s: TaskStep, action: string, extra: Record<string, string | string[]> = {}) => ({
        action,
        resource: notOurs,
        context: { ...base(s, region), ...resourceTagContext(tags), ...extra },
        summary: `${label} certificate (${region})`,
      });
      const rule = 'a certificate certflow did not import is never written or described';
      add(rule, TASK_STEPS, (s) => on(s, 'acm:ImportCertificate'));
      add(rule, TASK_STEPS, (s) => on(s, 'acm:AddTagsToCertificate', tagContext(ariTag)));
      add(rule, TASK_STEPS, (s) =>
        on(s, 'acm:RemoveTagsFromCertificate', tagContext(undefined, [ACM_ARI_TAG])),
      );
      add(rule, TASK_STEPS, (s) => on(s, 'acm:DescribeCertificate'));
    }
    // A new import that would not be found as this deployment's, or would carry other tags.
    const newImport = (s: TaskStep, tags: { Key: string; Value: string }[], label: string) => ({
      action: 'acm:ImportCertificate',
      resource: `arn:${d.partition}:acm:${region}:${d.account}:certificate/*`,
      context: { ...base(s, region), ...tagContext(tags) },
      summary: `new import ${label} (${region})`,
    });
    const newRule = "a new ACM import carries this deployment's tag and certflow's tag keys only";
    add(newRule, TASK_STEPS, (s) => newImport(s, [], 'without tags'));
    add(newRule, TASK_STEPS, (s) =>
      newImport(s, [{ Key: ACM_CERTIFICATE_TAG, Value: 'apex' }], 'without the deployment tag'),
    );
    add(newRule, TASK_STEPS, (s) =>
      newImport(
        s,
        [
          { Key: ACM_CERTIFICATE_TAG, Value: 'apex' },
          { Key: DEPLOYMENT_TAG, Value: `${prefix}-other` },
        ],
        'tagged for another deployment',
      ),
    );
    add(newRule, TASK_STEPS, (s) =>
      newImport(
        s,
        [
          { Key: ACM_CERTIFICATE_TAG, Value: 'apex' },
          { Key: DEPLOYMENT_TAG, Value: prefix },
          { Key: 'Environment', Value: 'production' },
        ],
        'with a tag key certflow does not write',
      ),
    );
  }
  // On its own certificates, tagging changes the CertID tag only: never the tags that make a
  // certificate this deployment's (or another's).
  for (const imported of new Map(acmImports.map((r) => [r.resource, r])).values()) {
    const region = String(imported.context['aws:RequestedRegion']);
    const own = resourceTagContext({ [DEPLOYMENT_TAG]: prefix, [ACM_CERTIFICATE_TAG]: 'apex' });
    const tagRule = "tagging changes only the CertID tag of this deployment's certificates";
    add(tagRule, TASK_STEPS, (s) => ({
      action: 'acm:AddTagsToCertificate',
      resource: imported.resource,
      context: {
        ...base(s, region),
        ...own,
        ...tagContext([{ Key: DEPLOYMENT_TAG, Value: `${prefix}-other` }]),
      },
      summary: `hand the certificate to another deployment (${region})`,
    }));
    for (const key of [DEPLOYMENT_TAG, ACM_CERTIFICATE_TAG]) {
      add(tagRule, TASK_STEPS, (s) => ({
        action: 'acm:RemoveTagsFromCertificate',
        resource: imported.resource,
        context: { ...base(s, region), ...own, ...tagContext(undefined, [key]) },
        summary: `remove ${key} (${region})`,
      }));
    }
  }

  // ---- SNS: only the alerts topic (as the functions that publish are given it; a partial
  // deployment may have none) ----
  const topicArn = account.functions.Summarize?.environment.CERTFLOW_TOPIC_ARN;
  if (topicArn !== undefined) {
    const topicName = topicArn.split(':').pop() as string;
    const otherTopics = [
      `arn:${d.partition}:sns:${d.region}:${d.account}:OtherApplicationTopic`,
      `${topicArn}Other`,
      `arn:${d.partition}:sns:us-east-1:${d.account}:${topicName}`,
    ];
    for (const topic of otherTopics) {
      add('SNS: no topic but the alerts topic (same name in another region included)', TASK_STEPS, (s) => ({
        action: 'sns:Publish',
        resource: topic,
        context: base(s, d.region),
        summary: `topic ${topic.split(':').slice(3).join(':')}`,
      }));
    }

    // ---- CloudWatch: FinalizeAndStore puts ACM expiry alarms, with the deployment's prefix,
    // notifying the alerts topic only ----
    const alarmPuts = recorded.filter((r) => r.action === 'cloudwatch:PutMetricAlarm');
    for (const put of new Map(alarmPuts.map((r) => [r.resource, r])).values()) {
      const region = String(put.context['aws:RequestedRegion']);
      const alarm = (
        step: TaskStep,
        resource: string,
        actions: { AlarmActions?: string[]; OKActions?: string[]; InsufficientDataActions?: string[] },
        summary: string,
      ) => ({
        action: 'cloudwatch:PutMetricAlarm',
        resource,
        context: { ...base(step, region), ...alarmActionsContext(actions) },
        summary,
      });
      const other = otherTopics[0] as string;
      add('alarms notify only the alerts topic (cloudwatch:AlarmActions)', ['FinalizeAndStore'], (s) =>
        alarm(
          s,
          put.resource,
          { AlarmActions: [other], OKActions: [other] },
          'both actions to another topic',
        ),
      );
      add('alarms notify only the alerts topic (cloudwatch:AlarmActions)', ['FinalizeAndStore'], (s) =>
        alarm(s, put.resource, { AlarmActions: [topicArn, other] }, 'the alerts topic and another'),
      );
      add('alarms notify only the alerts topic (cloudwatch:AlarmActions)', ['FinalizeAndStore'], (s) =>
        alarm(
          s,
          put.resource,
          { AlarmActions: [topicArn], OKActions: [other] },
          'OK action to another topic',
        ),
      );
      add('alarms notify only the alerts topic (cloudwatch:AlarmActions)', ['FinalizeAndStore'], (s) =>
        alarm(
          s,
          put.resource,
          {
            AlarmActions: [topicArn],
            InsufficientDataActions: [`arn:${d.partition}:automate:${region}:ec2:stop`],
          },
          'an EC2 stop action',
        ),
      );
      add("only the deployment's alarms (its name prefix) are put", ['FinalizeAndStore'], (s) =>
        alarm(
          s,
          put.resource.replace(/:alarm:.*$/, ':alarm:OtherApplicationAlarm'),
          { AlarmActions: [topicArn], OKActions: [topicArn] },
          'another alarm',
        ),
      );
      add(
        'only FinalizeAndStore puts alarms',
        TASK_STEPS.filter((s) => s !== 'FinalizeAndStore'),
        (s) =>
          alarm(s, put.resource, { AlarmActions: [topicArn], OKActions: [topicArn] }, 'the ACM expiry alarm'),
      );
      for (const action of [
        'cloudwatch:DeleteAlarms',
        'cloudwatch:DisableAlarmActions',
        'cloudwatch:SetAlarmState',
      ]) {
        add('alarms are only put, never deleted, silenced or set', TASK_STEPS, (s) => ({
          action,
          resource: put.resource,
          context: base(s, region),
          summary: 'the ACM expiry alarm',
        }));
      }
    }
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
