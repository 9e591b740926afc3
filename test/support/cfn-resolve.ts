/**
 * A synthesized CloudFormation template with its intrinsics resolved to concrete values, as
 * CloudFormation would resolve them in one account and region: `Ref`, `Fn::GetAtt`, `Fn::Join`,
 * `Fn::Select`, `Fn::Split`, `Fn::Sub` and the pseudo parameters. Physical ids are made up the
 * way CloudFormation makes them (secret ARNs with a 6-character suffix, key ids as UUIDs, ...),
 * deterministically from the logical id, so the same template always resolves the same way.
 * What `Ref` and `Fn::GetAtt` return per resource type follows each type's "Return values" in the
 * CloudFormation User Guide (e.g.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html#aws-resource-dynamodb-table-return-values:
 * `Ref` is the table name, `Arn` the table ARN;
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html#aws-resource-stepfunctions-statemachine-return-values:
 * `Ref` is the state machine ARN, `Name` its name).
 */
import { createHash } from 'node:crypto';

export interface Deployment {
  partition: string;
  region: string;
  account: string;
  stackName: string;
  /**
   * Which creation of the stack this is: physical ids (key ids, hosted zone ids, generated
   * names) differ between instances, as they do between two stacks, or between a stack and the
   * same stack deployed again after a delete. Unset: the ids depend on the logical id only.
   */
  instance?: string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, Json>;
  /** `Retain`: the resource outlives the stack. */
  DeletionPolicy?: string;
}

export interface Template {
  Resources: Record<string, TemplateResource>;
}

const hex = (seed: string, n: number): string => createHash('sha256').update(seed).digest('hex').slice(0, n);

/** A deterministic UUID from a seed. */
function uuidFrom(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Secrets Manager's 6-character ARN suffix (letters and digits), deterministic. */
function secretSuffix(seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const digest = createHash('sha256').update(seed).digest();
  return [...digest.subarray(0, 6)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Resolves intrinsics of one template in one deployment. */
export class CfnResolver {
  constructor(
    readonly template: Template,
    readonly deployment: Deployment,
  ) {}

  /** The seed of a resource's made-up physical id: its logical id, in this instance. */
  private seed(id: string): string {
    return this.deployment.instance === undefined ? id : `${this.deployment.instance}/${id}`;
  }

  /** The value of `value` with every intrinsic resolved (throws on one it does not know). */
  resolve(value: Json | undefined): Json {
    if (value === undefined) return null;
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = value[fn] as Json;
      switch (fn) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
          return this.getAtt(String(id), String(attr));
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json[]];
          return (this.resolve(parts) as Json[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [Json, Json];
          return (this.resolve(list) as Json[])[Number(this.resolve(index))] ?? null;
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, Json];
          return String(this.resolve(text)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, Json>];
          return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
            if (vars[name] !== undefined) return String(this.resolve(vars[name]));
            const [id, attr] = name.split('.');
            return String(attr ? this.getAtt(String(id), attr) : this.ref(String(id)));
          });
        }
      }
      if (fn.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${fn}`);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  private resource(id: string): TemplateResource {
    const r = this.template.Resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  }

  private prop(id: string, name: string): string | undefined {
    const v = this.resource(id).Properties?.[name];
    return v === undefined ? undefined : String(this.resolve(v));
  }

  /** `Ref` as CloudFormation documents it per resource type. */
  ref(id: string): string {
    const { partition, region, account, stackName } = this.deployment;
    switch (id) {
      case 'AWS::Partition':
        return partition;
      case 'AWS::Region':
        return region;
      case 'AWS::AccountId':
        return account;
      case 'AWS::StackName':
        return stackName;
      case 'AWS::URLSuffix':
        return partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
    }
    const r = this.resource(id);
    const generated = `${stackName}-${id}-${hex(this.seed(id), 12).toUpperCase()}`;
    switch (r.Type) {
      case 'AWS::SecretsManager::Secret':
        return this.getAtt(id, 'Id');
      case 'AWS::SNS::Topic':
        return `arn:${partition}:sns:${region}:${account}:${this.prop(id, 'TopicName') ?? generated}`;
      case 'AWS::Route53::HostedZone':
        return `Z${hex(this.seed(id), 20).toUpperCase()}`;
      case 'AWS::KMS::Key':
        return uuidFrom(this.seed(id));
      case 'AWS::Logs::LogGroup':
        return this.prop(id, 'LogGroupName') ?? generated;
      case 'AWS::IAM::Role':
        return this.prop(id, 'RoleName') ?? generated.slice(0, 64);
      case 'AWS::Lambda::Function':
        return this.prop(id, 'FunctionName') ?? generated.slice(0, 64);
      // Ref of a table is its name (AWS::DynamoDB::Table, "Return values").
      case 'AWS::DynamoDB::Table':
        return this.prop(id, 'TableName') ?? generated;
      // Ref of a state machine is its ARN (AWS::StepFunctions::StateMachine, "Return values").
      case 'AWS::StepFunctions::StateMachine':
        return this.getAtt(id, 'Arn');
      default:
        return generated;
    }
  }

  /** `Fn::GetAtt` for the attributes the certflow template uses. */
  getAtt(id: string, attr: string): string {
    const { partition, region, account } = this.deployment;
    const r = this.resource(id);
    switch (`${r.Type}.${attr}`) {
      case 'AWS::SecretsManager::Secret.Id': {
        const name = this.prop(id, 'Name') ?? id;
        return `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-${secretSuffix(this.seed(id))}`;
      }
      case 'AWS::KMS::Key.Arn':
        return `arn:${partition}:kms:${region}:${account}:key/${this.ref(id)}`;
      case 'AWS::KMS::Key.KeyId':
        return this.ref(id);
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:${partition}:logs:${region}:${account}:log-group:${this.ref(id)}:*`;
      case 'AWS::IAM::Role.Arn':
        return `arn:${partition}:iam::${account}:role/${this.ref(id)}`;
      case 'AWS::Lambda::Function.Arn':
        return `arn:${partition}:lambda:${region}:${account}:function:${this.ref(id)}`;
      case 'AWS::SNS::Topic.TopicArn':
        return this.ref(id);
      case 'AWS::Route53::HostedZone.Id':
        return this.ref(id);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return `arn:${partition}:states:${region}:${account}:stateMachine:${this.getAtt(id, 'Name')}`;
      case 'AWS::StepFunctions::StateMachine.Name':
        return this.prop(id, 'StateMachineName') ?? `${id}-${hex(this.seed(id), 12)}`;
      case 'AWS::DynamoDB::Table.Arn':
        return `arn:${partition}:dynamodb:${region}:${account}:table/${this.ref(id)}`;
    }
    throw new Error(`unsupported Fn::GetAtt ${id}.${attr} (${r.Type})`);
  }
}
