/**
 * What the synthesized stack deploys, resolved to concrete values (see cfn.ts): each Task
 * step's function (role, inline policies, environment) and the resource policies IAM evaluates
 * beside them (KMS key policies, SNS topic policies), plus which KMS key encrypts each secret and
 * topic (the key Secrets Manager and SNS use on the function's behalf), the DynamoDB tables and
 * the state machine (whose executions the Cleanup function describes).
 */
import { TASK_STEPS, type TaskStep } from '../../../lambdas/core/state';
import { CfnResolver, type Deployment, type Json, type Template } from '../../support/cfn-resolve';

export interface PolicyDocument {
  Version: string;
  Statement: Record<string, Json>[];
}

export interface DeployedFunction {
  step: TaskStep;
  roleArn: string;
  /** The principal a Lambda function's calls are made as: its role's assumed-role session. */
  principalArn: string;
  /** The role's policies by name (inline; the construct attaches no managed policies). */
  policies: { name: string; policy: PolicyDocument }[];
  environment: Record<string, string>;
}

export interface DeployedAccount {
  deployment: Deployment;
  functions: Record<TaskStep, DeployedFunction>;
  /** Key ARN → key policy. */
  keyPolicies: Map<string, PolicyDocument>;
  /** Key ARN → its tags (what `aws:ResourceTag/<key>` reads on a request for it). */
  keyTags: Map<string, Record<string, string>>;
  /** The keys the stack keeps when it is deleted (`DeletionPolicy: Retain`). */
  retainedKeys: Set<string>;
  /** Topic ARN → topic policy (the statements of every AWS::SNS::TopicPolicy naming it). */
  topicPolicies: Map<string, PolicyDocument>;
  /** Secret ARN → the KMS key ARN that encrypts it. */
  secretKeys: Map<string, string>;
  /** Topic ARN → the KMS key ARN that encrypts it. */
  topicKeys: Map<string, string>;
  /** Secret ARN → name and initial value, as the stack creates them. */
  secrets: Map<string, { name: string; initialValue: string | undefined }>;
  /** Hosted zone id → zone name, for the zones the stack creates. */
  hostedZones: Map<string, string>;
  /** DynamoDB table name → table ARN, for the tables the stack creates (the pending-values table). */
  tables: Map<string, string>;
  /** The renewal state machine: its ARN and name (executions are `…:execution:<name>:<id>`). */
  /** The run's state machine (SelectDue, SweepLeftovers, IssueBatches, Summarize). */
  stateMachine: { arn: string; name: string };
  /** The child state machine each IssueBatch iteration starts (the certificates' Task states). */
  batchStateMachine: { arn: string; name: string };
}

const byType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** Resolve the deployed IAM picture of a synthesized certflow template. */
export function deployedAccount(template: Template, deployment: Deployment): DeployedAccount {
  const cfn = new CfnResolver(template, deployment);
  const functions = {} as Record<TaskStep, DeployedFunction>;
  for (const [, fn] of byType(template, 'AWS::Lambda::Function')) {
    const env = cfn.resolve(
      (fn.Properties?.Environment as Record<string, Json> | undefined)?.Variables ?? {},
    ) as Record<string, string>;
    const step = env.CERTFLOW_STEP as TaskStep;
    if (!TASK_STEPS.includes(step)) continue;
    const roleRef = fn.Properties?.Role as { 'Fn::GetAtt': [string, string] };
    const roleId = roleRef['Fn::GetAtt'][0];
    const role = template.Resources[roleId];
    const roleName = cfn.ref(roleId);
    const inline = (cfn.resolve(role?.Properties?.Policies ?? []) as Json[]).map((p) => {
      const { PolicyName, PolicyDocument } = p as unknown as {
        PolicyName: string;
        PolicyDocument: PolicyDocument;
      };
      return { name: PolicyName, policy: PolicyDocument };
    });
    // AWS::IAM::Policy resources attached to the role (CDK's DefaultPolicy), if any.
    for (const [id, policy] of byType(template, 'AWS::IAM::Policy')) {
      const roles = (policy.Properties?.Roles ?? []) as Json[];
      if (roles.some((r) => (r as { Ref?: string }).Ref === roleId)) {
        inline.push({
          name: id,
          policy: cfn.resolve(policy.Properties?.PolicyDocument) as unknown as PolicyDocument,
        });
      }
    }
    const functionName = cfn.ref(
      Object.keys(template.Resources).find((k) => template.Resources[k] === fn) ?? '',
    );
    functions[step] = {
      step,
      roleArn: cfn.getAtt(roleId, 'Arn'),
      principalArn: `arn:${deployment.partition}:sts::${deployment.account}:assumed-role/${roleName}/${functionName}`,
      policies: inline,
      environment: env,
    };
  }
  const missing = TASK_STEPS.filter((s) => !functions[s]);
  if (missing.length > 0) throw new Error(`the template has no function for ${missing.join(', ')}`);

  const keyPolicies = new Map<string, PolicyDocument>();
  const keyTags = new Map<string, Record<string, string>>();
  const retainedKeys = new Set<string>();
  for (const [id, key] of byType(template, 'AWS::KMS::Key')) {
    const arn = cfn.getAtt(id, 'Arn');
    keyPolicies.set(arn, cfn.resolve(key.Properties?.KeyPolicy) as unknown as PolicyDocument);
    const tags = (cfn.resolve(key.Properties?.Tags ?? []) as { Key: string; Value: string }[]) ?? [];
    keyTags.set(arn, Object.fromEntries(tags.map((t) => [t.Key, t.Value])));
    if (key.DeletionPolicy === 'Retain') retainedKeys.add(arn);
  }
  const topicPolicies = new Map<string, PolicyDocument>();
  for (const [, tp] of byType(template, 'AWS::SNS::TopicPolicy')) {
    const doc = cfn.resolve(tp.Properties?.PolicyDocument) as unknown as PolicyDocument;
    for (const topic of cfn.resolve(tp.Properties?.Topics ?? []) as string[]) {
      const prior = topicPolicies.get(topic);
      topicPolicies.set(topic, {
        Version: '2012-10-17',
        Statement: [...(prior?.Statement ?? []), ...doc.Statement],
      });
    }
  }
  const keyArnOf = (value: Json | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const resolved = String(cfn.resolve(value));
    if (resolved.startsWith('arn:')) return resolved;
    return `arn:${deployment.partition}:kms:${deployment.region}:${deployment.account}:key/${resolved}`;
  };
  const secretKeys = new Map<string, string>();
  const secrets = new Map<string, { name: string; initialValue: string | undefined }>();
  for (const [id, secret] of byType(template, 'AWS::SecretsManager::Secret')) {
    const arn = cfn.ref(id);
    const key = keyArnOf(secret.Properties?.KmsKeyId);
    if (key) secretKeys.set(arn, key);
    const initial = secret.Properties?.SecretString;
    secrets.set(arn, {
      name: String(cfn.resolve(secret.Properties?.Name ?? id)),
      initialValue: initial === undefined ? undefined : String(cfn.resolve(initial)),
    });
  }
  const topicKeys = new Map<string, string>();
  for (const [id, topic] of byType(template, 'AWS::SNS::Topic')) {
    const key = keyArnOf(topic.Properties?.KmsMasterKeyId);
    if (key) topicKeys.set(cfn.ref(id), key);
  }
  const hostedZones = new Map<string, string>();
  for (const [id, zone] of byType(template, 'AWS::Route53::HostedZone')) {
    hostedZones.set(cfn.ref(id), String(cfn.resolve(zone.Properties?.Name)).replace(/\.$/, ''));
  }
  const tables = new Map<string, string>();
  for (const [id] of byType(template, 'AWS::DynamoDB::Table')) tables.set(cfn.ref(id), cfn.getAtt(id, 'Arn'));
  const machines = byType(template, 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 2)
    throw new Error(`expected the run and batch state machines, found ${machines.length}`);
  const machine = (batch: boolean) => {
    const found = machines.filter(([id]) => id.includes('BatchStateMachine') === batch);
    if (found.length !== 1) throw new Error(`expected one ${batch ? 'batch' : 'run'} state machine`);
    const [id] = found[0] as [string, unknown];
    return { arn: cfn.getAtt(id, 'Arn'), name: cfn.getAtt(id, 'Name') };
  };
  const stateMachine = machine(false);
  const batchStateMachine = machine(true);
  return {
    deployment,
    functions,
    keyPolicies,
    keyTags,
    retainedKeys,
    topicPolicies,
    secretKeys,
    topicKeys,
    secrets,
    hostedZones,
    tables,
    stateMachine,
    batchStateMachine,
  };
}

/**
 * The account after `previous` was deleted and `next` deployed: `next`'s resources, plus what
 * the delete kept of `previous` (its retained keys, with their key policies and tags) and the
 * secrets its functions created at run time (never in the template, so never deleted: the same
 * maps, which the fake keeps filling).
 */
export function afterRedeploy(previous: DeployedAccount, next: DeployedAccount): DeployedAccount {
  const keyPolicies = new Map(next.keyPolicies);
  const keyTags = new Map(next.keyTags);
  for (const key of previous.retainedKeys) {
    keyPolicies.set(key, previous.keyPolicies.get(key) as PolicyDocument);
    keyTags.set(key, previous.keyTags.get(key) ?? {});
  }
  return { ...next, keyPolicies, keyTags, secrets: previous.secrets, secretKeys: previous.secretKeys };
}

/**
 * `roles`'s functions in an account that also holds `others`' resources: what IAM evaluates a
 * request of one deployment's role for on another deployment's key or topic (their resource
 * policies and tags).
 */
export function sharingAccount(roles: DeployedAccount, ...others: DeployedAccount[]): DeployedAccount {
  const merged = <K, V>(pick: (a: DeployedAccount) => Map<K, V>) =>
    new Map<K, V>([...others.flatMap((o) => [...pick(o)]), ...pick(roles)]);
  return {
    ...roles,
    keyPolicies: merged((a) => a.keyPolicies),
    keyTags: merged((a) => a.keyTags),
    topicPolicies: merged((a) => a.topicPolicies),
    topicKeys: merged((a) => a.topicKeys),
    secretKeys: merged((a) => a.secretKeys),
  };
}
