/**
 * Route 53, Secrets Manager, ACM, SNS, DynamoDB, Step Functions and CloudWatch at the SDK boundary
 * (aws-sdk-client-mock), answering with AWS's documented responses (test/fixtures/aws/*, each
 * with its source) filled from in-memory state, and recording every command each function sends:
 * its operation, input, the client's region, and the documented error it got, if any.
 *
 * Route 53 changes are mirrored into a real authoritative server (BIND, through RFC 2136), so
 * the pipeline's own propagation check and the CA's validation see the records, as they would see
 * Route 53's name servers.
 */
import { randomUUID } from 'node:crypto';
import {
  ACMClient,
  ResourceNotFoundException as AcmNotFound,
  ValidationException as AcmValidation,
} from '@aws-sdk/client-acm';
import { CloudWatchClient, type PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import {
  type AttributeValue,
  type BatchWriteItemCommandInput,
  DynamoDBClient,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  type Change,
  type ChangeResourceRecordSetsCommandInput,
  type ListResourceRecordSetsCommandInput,
  NoSuchHostedZone,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ExecutionStatus, SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { unquoteTxtValue } from '../../../lambdas/adapters/dns/route53/txt-values';
import { inspectCertificate } from '../../../lambdas/core/certificate/inspect';
import type { DnsProvider } from '../../../lambdas/core/ports';
import type { TaskStep } from '../../../lambdas/core/state';
import * as acmFixtures from '../../fixtures/aws/acm';
import * as cwFixtures from '../../fixtures/aws/cloudwatch';
import * as ddbFixtures from '../../fixtures/aws/dynamodb';
import * as r53Fixtures from '../../fixtures/aws/route53';
import * as smFixtures from '../../fixtures/aws/secrets-manager';
import * as snsFixtures from '../../fixtures/aws/sns';
import * as sfnFixtures from '../../fixtures/aws/step-functions';

export type Service = 'route53' | 'secretsmanager' | 'acm' | 'sns' | 'dynamodb' | 'states' | 'cloudwatch';

/**
 * Errors AWS returns only after it has authorized the request (the resource is missing or
 * already exists, the change batch does not apply): such a call still needed its permission.
 */
export const AUTHORIZED_ERRORS = new Set([
  'ResourceNotFoundException',
  'ResourceExistsException',
  'ExecutionDoesNotExist',
  'InvalidChangeBatch',
]);

/** One SDK command a function sent. */
export interface RecordedCall {
  step: TaskStep;
  service: Service;
  /** The API operation, e.g. `ChangeResourceRecordSets`. */
  operation: string;
  input: Record<string, unknown>;
  /** The region the client was configured with. */
  region: string;
  /** Whether AWS (the fake) answered with success. */
  ok: boolean;
  output?: Record<string, unknown>;
  /** The name of the documented error AWS (the fake) answered with, when it did. */
  error?: string;
  /**
   * The tags the resource named in the request had when the call arrived (ACM certificates):
   * what IAM reads as `aws:ResourceTag/<key>`.
   */
  resourceTags?: Record<string, string>;
}

interface Sendable {
  config: { region: () => Promise<string> };
}
interface CommandLike {
  constructor: { name: string };
  input: Record<string, unknown>;
}
/** The part of an aws-sdk-client-mock stub used here: its sinon `send` stub. */
interface StubLike {
  send: { callsFake(fn: (this: Sendable, command: CommandLike) => Promise<unknown>): unknown };
  restore(): void;
}
const stubOf = (stub: unknown): StubLike => stub as StubLike;

const ACM_DESCRIBED: Record<string, string> = {
  'ecdsa-p256': acmFixtures.DESCRIBED_EC_P256,
  'ecdsa-p384': 'EC-secp384r1',
  'rsa-2048': acmFixtures.DESCRIBED_RSA_2048,
  'rsa-3072': 'RSA-3072',
  'rsa-4096': 'RSA-4096',
};

interface SecretState {
  arn: string;
  name: string;
  versions: { id: string; value: string; stages: string[] }[];
  tags: Map<string, string>;
}

interface AcmCertificate {
  arn: string;
  pem: string;
  tags: Map<string, string>;
  importedAt: Date;
}

export interface FakeAwsOptions {
  account: string;
  /** Hosted zone id → zone name, the zones that exist. */
  hostedZones: Map<string, string>;
  /**
   * Secret ARN → name and initial value, the secrets that exist. Secrets created at run time
   * (CreateSecret) are added to this map, and their KMS key to `secretKeys`.
   */
  secrets: Map<string, { name: string; initialValue: string | undefined }>;
  secretKeys: Map<string, string>;
  /** DynamoDB table name → ARN, the tables that exist. */
  tables: Map<string, string>;
  region: string;
  /** Where Route 53's record sets are also served (the delegated zone's real name server). */
  mirror: DnsProvider;
}

export class FakeAws {
  /** Every command sent, in order. */
  readonly calls: RecordedCall[] = [];
  /** The function whose calls are being recorded now. */
  step: TaskStep = 'SelectDue';
  private readonly stubs: StubLike[] = [];
  private readonly zones = new Map<string, Map<string, ResourceRecordSet>>();
  private readonly secrets = new Map<string, SecretState>();
  private readonly certificates = new Map<string, Map<string, AcmCertificate>>();
  /** Table name → items by partition key (`pk`, a string: the pending-values table's key). */
  private readonly tables = new Map<string, Map<string, Record<string, AttributeValue>>>();
  private readonly executions = new Map<
    string,
    { status: ExecutionStatus; startDate: Date; stopDate?: Date }
  >();
  /** Region → alarm name → the PutMetricAlarm request that put it (the last one: a put replaces). */
  private readonly alarmsByRegion = new Map<string, Map<string, PutMetricAlarmCommandInput>>();
  private changeCount = 0;

  constructor(private readonly options: FakeAwsOptions) {
    for (const id of options.hostedZones.keys()) this.zones.set(id, new Map());
    for (const [arn, { name, initialValue }] of options.secrets) {
      this.secrets.set(arn, {
        arn,
        name,
        versions:
          initialValue === undefined
            ? []
            : [{ id: randomUUID(), value: initialValue, stages: ['AWSCURRENT'] }],
        tags: new Map(),
      });
    }
    for (const name of options.tables.keys()) this.tables.set(name, new Map());
  }

  /**
   * Another deployment's resources in the same account (its hosted zones and tables, empty), as
   * CloudFormation creates them; what the earlier deployment left stays as it is.
   */
  deploy(resources: { hostedZones: Map<string, string>; tables: Map<string, string> }): void {
    for (const id of resources.hostedZones.keys()) if (!this.zones.has(id)) this.zones.set(id, new Map());
    for (const name of resources.tables.keys()) if (!this.tables.has(name)) this.tables.set(name, new Map());
  }

  /** Mock the clients (every instance) until {@link restore}. */
  install(): void {
    this.stub('route53', stubOf(mockClient(Route53Client)), (op, input) => this.route53(op, input));
    this.stub('secretsmanager', stubOf(mockClient(SecretsManagerClient)), (op, input) =>
      this.secretsManager(op, input),
    );
    this.stub('acm', stubOf(mockClient(ACMClient)), (op, input, region) => this.acm(op, input, region));
    this.stub('sns', stubOf(mockClient(SNSClient)), (op) => this.sns(op));
    this.stub('dynamodb', stubOf(mockClient(DynamoDBClient)), (op, input) => this.dynamoDb(op, input));
    this.stub('states', stubOf(mockClient(SFNClient)), (op, input) => this.stepFunctions(op, input));
    this.stub('cloudwatch', stubOf(mockClient(CloudWatchClient)), (op, input, region) =>
      this.cloudWatch(op, input, region),
    );
  }

  /** The metric alarms put in a region, as their PutMetricAlarm requests (tests read what was put). */
  alarms(region: string): PutMetricAlarmCommandInput[] {
    return [...(this.alarmsByRegion.get(region)?.values() ?? [])].map((a) => structuredClone(a));
  }

  restore(): void {
    for (const s of this.stubs) s.restore();
  }

  /** The value of a secret's AWSCURRENT version, parsed (tests read what was stored). */
  currentSecretValue(arn: string): unknown {
    const v = this.secrets.get(arn)?.versions.find((x) => x.stages.includes('AWSCURRENT'));
    return v ? JSON.parse(v.value) : undefined;
  }

  /**
   * Tag a secret outside the pipeline (as a console user, or an earlier certflow version that
   * wrote more `certflow:domains:<n>` tags, would have).
   */
  tagSecret(name: string, key: string, value: string): void {
    this.secret(name).tags.set(key, value);
  }

  /** The items of a DynamoDB table (tests read what the pipeline left behind). */
  tableItems(table: string): Record<string, AttributeValue>[] {
    return [...(this.tables.get(table)?.values() ?? [])].map((i) => structuredClone(i));
  }

  /** Record sets of a hosted zone, by name (tests read what the pipeline left behind). */
  recordSets(hostedZoneId: string): ResourceRecordSet[] {
    return [...this.zone(hostedZoneId).values()].map((s) => structuredClone(s));
  }

  /** An execution of the state machine starts (RUNNING until {@link endExecution}). */
  startExecution(executionArn: string, startDate = new Date()): void {
    this.executions.set(executionArn, { status: 'RUNNING', startDate });
  }

  /** An execution ends with `status` (SUCCEEDED, FAILED, TIMED_OUT, ABORTED). */
  endExecution(executionArn: string, status: Exclude<ExecutionStatus, 'RUNNING'>): void {
    const e = this.executions.get(executionArn);
    if (!e) throw new Error(`no execution ${executionArn} was started`);
    e.status = status;
    e.stopDate = new Date();
  }

  /** The ACM certificates imported in a region. */
  acmCertificates(region: string): { arn: string; tags: Record<string, string> }[] {
    return [...(this.certificates.get(region)?.values() ?? [])].map((c) => ({
      arn: c.arn,
      tags: Object.fromEntries(c.tags),
    }));
  }

  private stub(
    service: Service,
    stub: StubLike,
    handle: (
      operation: string,
      input: Record<string, unknown>,
      region: string,
    ) => Promise<Record<string, unknown>>,
  ): void {
    this.stubs.push(stub);
    const calls = this.calls;
    const self = this;
    stub.send.callsFake(async function (this: Sendable, command: CommandLike) {
      const operation = command.constructor.name.replace(/Command$/, '');
      const region = await this.config.region();
      const call: RecordedCall = {
        step: self.step,
        service,
        operation,
        input: command.input,
        region,
        ok: false,
      };
      calls.push(call);
      const tags = self.resourceTagsOf(service, command.input, region);
      if (tags) call.resourceTags = tags;
      try {
        const output = await handle(operation, command.input, region);
        call.ok = true;
        call.output = output;
        return output;
      } catch (error) {
        call.error = (error as { name?: string }).name ?? 'Error';
        throw error;
      }
    });
  }

  // ---- Route 53 ----

  private async route53(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    switch (operation) {
      case 'ListResourceRecordSets': {
        const i = input as unknown as ListResourceRecordSetsCommandInput;
        const zone = this.zone(String(i.HostedZoneId));
        const start = i.StartRecordName ?? '';
        const sets = [...zone.keys()]
          .sort()
          .filter((name) => name >= start)
          .slice(0, i.MaxItems ?? 100)
          .map((name) => structuredClone(zone.get(name) as ResourceRecordSet));
        return r53Fixtures.listResourceRecordSetsResponse(sets, i.MaxItems ?? 100);
      }
      case 'ChangeResourceRecordSets':
        return this.applyChangeBatch(input as unknown as ChangeResourceRecordSetsCommandInput);
      case 'GetChange':
        return r53Fixtures.getChangeResponse('INSYNC', String(input.Id));
    }
    throw new Error(`the fake Route 53 does not implement ${operation}`);
  }

  private zone(hostedZoneId: string): Map<string, ResourceRecordSet> {
    const zone = this.zones.get(hostedZoneId.replace(/^\/hostedzone\//, ''));
    if (!zone) {
      throw new NoSuchHostedZone({
        message: `No hosted zone found with ID: ${hostedZoneId}`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    return zone;
  }

  /** Route 53's batch semantics: atomic; DELETE must match exactly; CREATE needs an absent set. */
  private async applyChangeBatch(
    input: ChangeResourceRecordSetsCommandInput,
  ): Promise<Record<string, unknown>> {
    const zone = this.zone(String(input.HostedZoneId));
    const next = new Map(zone);
    const values = (s: ResourceRecordSet | undefined) =>
      (s?.ResourceRecords ?? []).map((r) => String(r.Value));
    for (const change of (input.ChangeBatch?.Changes ?? []) as Change[]) {
      const set = change.ResourceRecordSet as ResourceRecordSet;
      const name = String(set.Name).toLowerCase();
      const current = next.get(name);
      if (change.Action === 'DELETE') {
        if (
          !current ||
          current.TTL !== set.TTL ||
          values(current).sort().join() !== values(set).sort().join()
        ) {
          throw r53Fixtures.invalidChangeBatch(
            `Tried to delete resource record set [name='${name}', type='TXT'] but it was not found or does not match`,
          );
        }
        next.delete(name);
      } else if (change.Action === 'CREATE') {
        if (current) {
          throw r53Fixtures.invalidChangeBatch(
            `Tried to create resource record set [name='${name}', type='TXT'] but it already exists`,
          );
        }
        next.set(name, structuredClone(set));
      } else {
        throw new Error(`the fake Route 53 does not implement ${change.Action}`);
      }
    }
    // Serve the new sets from the real name server too (what Route 53's name servers would answer).
    for (const name of new Set([...zone.keys(), ...next.keys()])) {
      const before = new Set(values(zone.get(name)).map(unquoteTxtValue));
      const after = new Set(values(next.get(name)).map(unquoteTxtValue));
      const fqdn = name.replace(/\.$/, '');
      const added = [...after].filter((v) => !before.has(v)).map((value) => ({ fqdn, value }));
      const removed = [...before].filter((v) => !after.has(v)).map((value) => ({ fqdn, value }));
      if (added.length > 0) await this.options.mirror.addTxtValues(added);
      if (removed.length > 0) await this.options.mirror.removeTxtValues(removed);
    }
    zone.clear();
    for (const [k, v] of next) zone.set(k, v);
    this.changeCount += 1;
    return r53Fixtures.changeResourceRecordSetsResponse({
      id: `/change/C2682N5HXP0B${String(this.changeCount).padStart(2, '0')}`,
      comment: input.ChangeBatch?.Comment ?? '',
    });
  }

  // ---- Secrets Manager ----

  private secret(id: string): SecretState {
    const found = this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.name === id);
    if (!found) throw smFixtures.resourceNotFound();
    return found;
  }

  private async secretsManager(
    operation: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    if (operation === 'CreateSecret') return this.createSecret(input);
    const secret = this.secret(String(input.SecretId));
    switch (operation) {
      case 'GetSecretValue': {
        const current = secret.versions.find((v) => v.stages.includes('AWSCURRENT'));
        if (!current) throw smFixtures.resourceNotFound();
        return smFixtures.getSecretValueResponse({
          arn: secret.arn,
          name: secret.name,
          secretString: current.value,
        });
      }
      case 'PutSecretValue': {
        // The version id is the request's ClientRequestToken (the SDK makes one up otherwise); a
        // repeated token with the same value changes nothing (PutSecretValue, ClientRequestToken).
        const id = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : randomUUID();
        const existing = secret.versions.find((v) => v.id === id);
        if (existing) {
          if (existing.value !== String(input.SecretString)) throw smFixtures.resourceExists();
          return smFixtures.putSecretValueResponse({ arn: secret.arn, name: secret.name, versionId: id });
        }
        for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
        for (const v of secret.versions) {
          if (v.stages.includes('AWSCURRENT'))
            v.stages = [...v.stages.filter((s) => s !== 'AWSCURRENT'), 'AWSPREVIOUS'];
        }
        secret.versions.push({ id, value: String(input.SecretString), stages: ['AWSCURRENT'] });
        return smFixtures.putSecretValueResponse({ arn: secret.arn, name: secret.name, versionId: id });
      }
      case 'DescribeSecret':
        return smFixtures.describeSecretResponse({
          arn: secret.arn,
          name: secret.name,
          tags: [...secret.tags].map(([Key, Value]) => ({ Key, Value })),
          versionIdsToStages: Object.fromEntries(secret.versions.map((v) => [v.id, v.stages])),
        });
      case 'TagResource':
        for (const t of (input.Tags ?? []) as { Key: string; Value: string }[])
          secret.tags.set(t.Key, t.Value);
        return smFixtures.TAG_RESOURCE_RESPONSE;
      case 'UntagResource':
        for (const k of (input.TagKeys ?? []) as string[]) secret.tags.delete(k);
        return smFixtures.TAG_RESOURCE_RESPONSE;
    }
    throw new Error(`the fake Secrets Manager does not implement ${operation}`);
  }

  /**
   * CreateSecret: a new secret under its name (ARN with the 6-character suffix), its first version
   * the request's ClientRequestToken, its KMS key recorded; a name in use is ResourceExistsException.
   */
  private createSecret(input: Record<string, unknown>): Record<string, unknown> {
    const name = String(input.Name);
    if ([...this.secrets.values()].some((x) => x.name === name)) throw smFixtures.resourceExists();
    const arn = `arn:aws:secretsmanager:${this.options.region}:${this.options.account}:secret:${name}-${randomUUID().replace(/-/g, '').slice(0, 6)}`;
    const value = typeof input.SecretString === 'string' ? input.SecretString : undefined;
    const id = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : randomUUID();
    this.secrets.set(arn, {
      arn,
      name,
      versions: value === undefined ? [] : [{ id, value, stages: ['AWSCURRENT'] }],
      tags: new Map(((input.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value])),
    });
    this.options.secrets.set(arn, { name, initialValue: value });
    if (typeof input.KmsKeyId === 'string') this.options.secretKeys.set(arn, input.KmsKeyId);
    return smFixtures.createSecretResponse({ arn, name, versionId: id });
  }

  /** The tags of the existing resource a request names (ACM certificates), before the call. */
  private resourceTagsOf(
    service: Service,
    input: Record<string, unknown>,
    region: string,
  ): Record<string, string> | undefined {
    if (service !== 'acm' || typeof input.CertificateArn !== 'string') return undefined;
    const found = this.certificates.get(region)?.get(input.CertificateArn);
    return found ? Object.fromEntries(found.tags) : undefined;
  }

  // ---- ACM ----

  private region(region: string): Map<string, AcmCertificate> {
    let certificates = this.certificates.get(region);
    if (!certificates) {
      certificates = new Map();
      this.certificates.set(region, certificates);
    }
    return certificates;
  }

  private certificate(region: string, arn: string): AcmCertificate {
    const found = this.region(region).get(arn);
    if (!found) {
      throw new AcmNotFound({
        message:
          "The specified certificate cannot be found in the caller's account or the caller's account cannot be found.",
        $metadata: { httpStatusCode: 400 },
      });
    }
    return found;
  }

  private async acm(
    operation: string,
    input: Record<string, unknown>,
    region: string,
  ): Promise<Record<string, unknown>> {
    const certificates = this.region(region);
    const text = (b: unknown) => Buffer.from(b as Uint8Array).toString('utf8');
    const described = (c: AcmCertificate) => {
      const facts = inspectCertificate(c.pem);
      return acmFixtures.describedCertificate({
        arn: c.arn,
        domains: facts.domains,
        // As DescribeCertificate spells it: with a hyphen.
        keyAlgorithm: ACM_DESCRIBED[facts.keyType] ?? 'RSA-1024',
        issuer: facts.issuer,
        notBefore: new Date(facts.notBefore),
        notAfter: new Date(facts.notAfter),
        importedAt: c.importedAt,
        serial: facts.serial,
      });
    };
    switch (operation) {
      case 'ListCertificates':
        return acmFixtures.listCertificatesResponse(
          [...certificates.values()].map((c) => {
            const d = described(c);
            return acmFixtures.certificateSummary(c.arn, String(d.DomainName), {
              type: 'IMPORTED',
              keyAlgorithm: String(d.KeyAlgorithm),
            });
          }),
        );
      case 'ListTagsForCertificate': {
        const c = this.certificate(region, String(input.CertificateArn));
        return acmFixtures.listTagsResponse([...c.tags].map(([Key, Value]) => ({ Key, Value })));
      }
      case 'DescribeCertificate':
        return { Certificate: described(this.certificate(region, String(input.CertificateArn))) };
      case 'ImportCertificate': {
        // "You cannot apply tags when reimporting a certificate." (ImportCertificate API
        // reference, Tags); ACM answers ValidationException "Tagging is not permitted on re-import."
        if (input.CertificateArn && Array.isArray(input.Tags) && input.Tags.length > 0) {
          throw new AcmValidation({
            message: 'Tagging is not permitted on re-import.',
            $metadata: { httpStatusCode: 400 },
          });
        }
        const existing = input.CertificateArn
          ? this.certificate(region, String(input.CertificateArn))
          : undefined;
        const arn =
          existing?.arn ?? `arn:aws:acm:${region}:${this.options.account}:certificate/${randomUUID()}`;
        const tags =
          existing?.tags ??
          new Map((input.Tags as { Key: string; Value: string }[] | undefined)?.map((t) => [t.Key, t.Value]));
        certificates.set(arn, { arn, pem: text(input.Certificate), tags, importedAt: new Date() });
        return acmFixtures.importCertificateResponse(arn);
      }
      case 'AddTagsToCertificate': {
        const c = this.certificate(region, String(input.CertificateArn));
        for (const t of (input.Tags ?? []) as { Key: string; Value: string }[]) c.tags.set(t.Key, t.Value);
        return {};
      }
      case 'RemoveTagsFromCertificate': {
        const c = this.certificate(region, String(input.CertificateArn));
        for (const t of (input.Tags ?? []) as { Key: string }[]) c.tags.delete(t.Key);
        return {};
      }
    }
    throw new Error(`the fake ACM does not implement ${operation}`);
  }

  // ---- SNS ----

  private async sns(operation: string): Promise<Record<string, unknown>> {
    if (operation === 'Publish') return snsFixtures.publishResponse();
    throw new Error(`the fake SNS does not implement ${operation}`);
  }

  // ---- CloudWatch ----

  /**
   * PutMetricAlarm creates the alarm, or replaces an existing one's whole configuration (CloudWatch
   * API reference, PutMetricAlarm: "the update completely overwrites the previous configuration of
   * the alarm"); it answers with no response elements (test/fixtures/aws/cloudwatch.ts).
   */
  private async cloudWatch(
    operation: string,
    input: Record<string, unknown>,
    region: string,
  ): Promise<Record<string, unknown>> {
    if (operation === 'PutMetricAlarm') {
      const i = input as unknown as PutMetricAlarmCommandInput;
      const alarms = this.alarmsByRegion.get(region) ?? new Map<string, PutMetricAlarmCommandInput>();
      alarms.set(String(i.AlarmName), structuredClone(i));
      this.alarmsByRegion.set(region, alarms);
      return cwFixtures.putMetricAlarmResponse();
    }
    throw new Error(`the fake CloudWatch does not implement ${operation}`);
  }

  // ---- DynamoDB (tables keyed by the string partition key `pk`) ----

  private table(name: unknown): Map<string, Record<string, AttributeValue>> {
    const table = this.tables.get(String(name));
    if (!table) throw ddbFixtures.tableNotFound();
    return table;
  }

  private static keyOf(item: Record<string, AttributeValue> | undefined): string {
    const pk = item?.pk?.S;
    if (!pk) throw new Error('the fake DynamoDB table is keyed by a string "pk"; the item has none');
    return pk;
  }

  private async dynamoDb(
    operation: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    switch (operation) {
      case 'PutItem': {
        const i = input as unknown as PutItemCommandInput;
        const item = i.Item as Record<string, AttributeValue>;
        const table = this.table(i.TableName);
        const key = FakeAws.keyOf(item);
        if (i.ConditionExpression !== undefined) {
          // The one condition certflow writes (the new-order budget's optimistic lock).
          if (i.ConditionExpression !== 'attribute_not_exists(pk) OR version = :v') {
            throw new Error(`the fake DynamoDB does not evaluate the condition ${i.ConditionExpression}`);
          }
          const existing = table.get(key);
          const expected = i.ExpressionAttributeValues?.[':v']?.N;
          if (existing && existing.version?.N !== expected) throw ddbFixtures.conditionalCheckFailed();
        }
        table.set(key, structuredClone(item));
        return ddbFixtures.putItemResponse();
      }
      case 'GetItem': {
        const i = input as unknown as GetItemCommandInput;
        const found = this.table(i.TableName).get(FakeAws.keyOf(i.Key));
        return ddbFixtures.getItemResponse(found ? structuredClone(found) : undefined);
      }
      case 'BatchWriteItem': {
        const requests = (input as unknown as BatchWriteItemCommandInput).RequestItems ?? {};
        const tables = Object.keys(requests).map((name) => [name, this.table(name)] as const);
        for (const [name, table] of tables) {
          for (const w of (requests[name] ?? []) as WriteRequest[]) {
            if (w.DeleteRequest) table.delete(FakeAws.keyOf(w.DeleteRequest.Key));
            if (w.PutRequest)
              table.set(FakeAws.keyOf(w.PutRequest.Item), structuredClone(w.PutRequest.Item ?? {}));
          }
        }
        return ddbFixtures.batchWriteItemResponse();
      }
      case 'Scan':
        return ddbFixtures.scanResponse(
          [...this.table(input.TableName).values()].map((i) => structuredClone(i)),
        );
    }
    throw new Error(`the fake DynamoDB does not implement ${operation}`);
  }

  // ---- Step Functions ----

  private async stepFunctions(
    operation: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    if (operation === 'DescribeExecution') {
      const executionArn = String(input.executionArn);
      const e = this.executions.get(executionArn);
      if (!e) throw sfnFixtures.executionDoesNotExist();
      return sfnFixtures.describeExecutionResponse({ executionArn, ...e });
    }
    throw new Error(`the fake Step Functions does not implement ${operation}`);
  }
}
