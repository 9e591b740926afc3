/**
 * What a synthesized certflow stack weighs against the AWS limits that grow with the number of
 * certificates: CloudFormation's 500 resources and 1 MB template (template body in S3), IAM's
 * 10,240 characters of inline policy per role, and Lambda's 4 KB of environment variables per
 * function. `npm run bench` prints these for 10, 100 and 1,000 certificates; the CDK tests
 * assert the limits hold and the numbers stay nearly constant.
 *
 * Intrinsic functions (Ref, Fn::GetAtt, Fn::Join) are counted as their JSON in the template, so
 * sizes are close to, not exactly, what AWS counts after resolving them.
 */

/** AWS's limits, with where each is documented. */
export const AWS_LIMITS = {
  /** CloudFormation quotas: "Resources: 500 per template". */
  resources: 500,
  /** CloudFormation quotas: "Template body size in an Amazon S3 object: 1 MB". */
  templateBytes: 1_000_000,
  /** IAM quotas: "Role policy size ... 10,240 characters" (aggregate inline policy size per role). */
  rolePolicyChars: 10_240,
  /** Lambda quotas: "Environment variables: 4 KB, for all environment variables associated with the function". */
  environmentBytes: 4 * 1024,
} as const;

export interface TemplateStats {
  resources: number;
  /** The template as `cdk synth` writes it (JSON, one-space indent). */
  templateBytes: number;
  /** The largest aggregate inline policy of one role (whitespace not counted, as IAM counts). */
  largestRolePolicy: { role: string; chars: number };
  /** The largest environment of one function (names and values). */
  largestEnvironment: { function: string; bytes: number };
}

type CfnResource = { Type: string; Properties?: Record<string, unknown> };

/** {@link TemplateStats} of a synthesized template. */
export function templateStats(template: { Resources: Record<string, CfnResource> }): TemplateStats {
  const resources = Object.entries(template.Resources);
  const perRole = new Map<string, number>();
  const add = (role: string, document: unknown) =>
    perRole.set(role, (perRole.get(role) ?? 0) + JSON.stringify(document).length);
  for (const [id, r] of resources) {
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of (r.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? [])
        add(id, p.PolicyDocument);
    }
    if (r.Type === 'AWS::IAM::Policy') {
      for (const role of (r.Properties?.Roles as { Ref?: string }[] | undefined) ?? []) {
        if (role.Ref) add(role.Ref, r.Properties?.PolicyDocument);
      }
    }
  }
  const largestRolePolicy = [...perRole].reduce(
    (max, [role, chars]) => (chars > max.chars ? { role, chars } : max),
    { role: '', chars: 0 },
  );
  let largestEnvironment = { function: '', bytes: 0 };
  for (const [id, r] of resources) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const vars =
      (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const bytes = Object.entries(vars).reduce(
      (sum, [k, v]) =>
        sum + Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v)),
      0,
    );
    if (bytes > largestEnvironment.bytes) largestEnvironment = { function: id, bytes };
  }
  return {
    resources: resources.length,
    templateBytes: Buffer.byteLength(JSON.stringify(template, null, 1)),
    largestRolePolicy,
    largestEnvironment,
  };
}

/**
 * The example configuration with `count` single-name certificates in the compact form (the
 * names a platform team would have: one per service), for scale measurements.
 */
export function scaledConfig(example: Record<string, unknown>, count: number): Record<string, unknown> {
  return {
    ...example,
    certificateDefaults: { stores: ['secretsmanager', 'acm'] },
    certificates: Array.from({ length: count }, (_, i) => `svc-${String(i).padStart(4, '0')}.example.com`),
  };
}
