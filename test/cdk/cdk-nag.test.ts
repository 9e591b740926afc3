import type { CfnResource } from 'aws-cdk-lib';
import {
  AwsSolutionsChecks,
  type INagLogger,
  type NagLoggerErrorData,
  type NagLoggerNonComplianceData,
  type NagLoggerSuppressedData,
  type NagLoggerSuppressedErrorData,
} from 'cdk-nag';
import type { Synthesized } from './synth';
import { exampleConfig, patchedConfig, synth } from './synth';

interface Finding {
  rule: string;
  finding: string;
  resource: string;
  reason?: string;
}

/** Collects every cdk-nag outcome instead of turning them into annotations. */
class RecordingLogger implements INagLogger {
  readonly open: Finding[] = [];
  readonly suppressed: Finding[] = [];
  readonly errors: Finding[] = [];
  private static path(resource: CfnResource): string {
    return resource.node.path;
  }
  onCompliance(): void {}
  onNotApplicable(): void {}
  onNonCompliance(d: NagLoggerNonComplianceData): void {
    this.open.push({ rule: d.ruleId, finding: d.findingId, resource: RecordingLogger.path(d.resource) });
  }
  onSuppressed(d: NagLoggerSuppressedData): void {
    this.suppressed.push({
      rule: d.ruleId,
      finding: d.findingId,
      resource: RecordingLogger.path(d.resource),
      reason: d.suppressionReason,
    });
  }
  onError(d: NagLoggerErrorData): void {
    this.errors.push({ rule: d.ruleId, finding: d.errorMessage, resource: RecordingLogger.path(d.resource) });
  }
  onSuppressedError(d: NagLoggerSuppressedErrorData): void {
    this.errors.push({ rule: d.ruleId, finding: d.errorMessage, resource: RecordingLogger.path(d.resource) });
  }
}

interface SuppressionEntry {
  id: string;
  reason: string;
  applies_to?: unknown[];
}

describe('cdk-nag AwsSolutions', () => {
  const logger = new RecordingLogger();
  let s: Synthesized;

  beforeAll(() => {
    s = synth(exampleConfig(), {}, [new AwsSolutionsChecks({ additionalLoggers: [logger] })]);
  });

  it('has no unacknowledged error or warning, and no rule failed to run', () => {
    expect(logger.open).toEqual([]);
    expect(logger.errors).toEqual([]);
  });

  it('acknowledges only the findings that are by design', () => {
    const rules = [...new Set(logger.suppressed.map((f) => f.rule))].sort();
    // No L1: nodejs24.x is the latest Node.js runtime (the L1 acknowledgement stays for when it is not).
    expect(rules).toEqual(['AwsSolutions-DDB3', 'AwsSolutions-IAM5', 'AwsSolutions-SF1']);
    const wildcardFindings = [
      ...new Set(logger.suppressed.filter((f) => f.rule === 'AwsSolutions-IAM5').map((f) => f.finding)),
    ];
    for (const finding of wildcardFindings) {
      expect(finding).toMatch(
        /^Resource::(\*|arn:<AWS::Partition>:acm:[a-z0-9-]+:\d{12}:certificate\/\*|arn:<AWS::Partition>:route53:::change\/\*|<Certflow\w+Function[0-9A-F]{8}\.Arn>:\*|arn:<AWS::Partition>:states:[a-z0-9-]+:\d{12}:execution:<CertflowRenewal(Batch)?StateMachine[0-9A-F]{8}\.Name>:\*|arn:<AWS::Partition>:states:[a-z0-9-]+:\d{12}:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"CertflowRenewalBatchStateMachine[0-9A-F]{8}"\}\]\}\]\}\*|arn:<AWS::Partition>:secretsmanager:[a-z0-9-]+:\d{12}:secret:CertflowTest\/(acme-account|certificate|pending-key)\/\*|arn:<AWS::Partition>:kms:[a-z0-9-]+:\d{12}:key\/\*|arn:<AWS::Partition>:cloudwatch:[a-z0-9-]+:\d{12}:alarm:CertflowTest-AcmDaysToExpiry-\*)$/,
      );
    }
    // Resource::* is acknowledged only for ACM ListCertificates (the roles that read or write the
    // ACM store) and the state machine roles (X-Ray and log delivery).
    const starRoles = new Set(
      logger.suppressed.filter((f) => f.finding === 'Resource::*').map((f) => f.resource.split('/')[2]),
    );
    expect([...starRoles].sort()).toEqual([
      'FinalizeAndStoreRole',
      'Renewal',
      'SelectDueRole',
      'SummarizeRole',
    ]);
  });

  it('every suppression entry has a specific reason, and IAM5 entries name what they apply to', () => {
    const entries: SuppressionEntry[] = [];
    for (const resource of Object.values(s.json.Resources) as { Metadata?: Record<string, unknown> }[]) {
      const nag = resource.Metadata?.cdk_nag as { rules_to_suppress?: SuppressionEntry[] } | undefined;
      entries.push(...(nag?.rules_to_suppress ?? []));
    }
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(e.reason.length).toBeGreaterThanOrEqual(60);
      if (e.id === 'AwsSolutions-IAM5') expect(e.applies_to?.length).toBeGreaterThan(0);
    }
    // cdk-nag prefixes a granular suppression's reason with the finding it matched.
    const reasons = new Set(logger.suppressed.map((f) => f.reason ?? ''));
    for (const r of reasons) {
      expect({ r, declared: entries.some((e) => r === e.reason || r.endsWith(`] ${e.reason}`)) }).toEqual({
        r,
        declared: true,
      });
    }
  });
});

describe('cdk-nag AwsSolutions (existing zone, Secrets Manager only, EAB, alert emails)', () => {
  it('has no unacknowledged error or warning either', () => {
    const logger = new RecordingLogger();
    const config = patchedConfig((raw) => {
      raw.dns = { provider: 'route53', hostedZoneId: 'Z0123456789ABC' };
      raw.acme = {
        directory: 'zerossl',
        email: 'hostmaster@example.com',
        termsOfServiceAgreed: true,
        externalAccountBinding: {
          kid: 'kid-1',
          hmacKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zerossl-eab',
        },
      };
      raw.alerts = { emails: ['oncall@example.com'] };
      raw.certificates = [{ name: 'example', domains: ['example.com'] }];
    });
    synth(config, {}, [new AwsSolutionsChecks({ additionalLoggers: [logger] })]);
    expect(logger.open).toEqual([]);
    expect(logger.errors).toEqual([]);
  });
});
