/**
 * IAM evaluation of requests against the deployed policies, with `@cloud-copilot/iam-simulate`
 * (AGPL-3.0: a devDependency, imported only from test/; test/iam/agpl-boundary.test.ts enforces
 * that). The request's function supplies the identity policies (its role's inline policies);
 * KMS requests are also evaluated against the key policy, SNS requests against the topic policy,
 * as AWS does for same-account requests.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { DeployedAccount } from './deployment';
import type { IamRequest } from './requests';

export type Verdict = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface Evaluated extends IamRequest {
  verdict: Verdict;
}

/** Evaluate one request; a request the simulator cannot validate is a test failure, not a denial. */
export async function evaluate(request: IamRequest, account: DeployedAccount): Promise<Evaluated> {
  const fn = account.functions[request.step];
  const resourcePolicy = request.action.startsWith('kms:')
    ? account.keyPolicies.get(request.resource)
    : request.action.startsWith('sns:')
      ? account.topicPolicies.get(request.resource)
      : undefined;
  const result = await runSimulation(
    {
      request: {
        principal: fn.principalArn,
        action: request.action,
        resource: { resource: request.resource, accountId: account.deployment.account },
        contextVariables: request.context,
      },
      identityPolicies: fn.policies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(
      `iam-simulate could not evaluate ${request.action} on ${request.resource} for ${request.step}: ${JSON.stringify(result.errors)}`,
    );
  }
  return { ...request, verdict: result.overallResult as Verdict };
}

export async function evaluateAll(requests: IamRequest[], account: DeployedAccount): Promise<Evaluated[]> {
  const out: Evaluated[] = [];
  for (const r of requests) out.push(await evaluate(r, account));
  return out;
}

/** One line per distinct (function, verdict, action, resource, summary), grouped by function. */
export function verdictTable(title: string, rows: Evaluated[]): string {
  const lines = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = lines.get(r.step) ?? new Set<string>();
    const mark = r.verdict === 'Allowed' ? 'ALLOW' : r.verdict === 'ExplicitlyDenied' ? 'DENY!' : 'DENY ';
    const via = r.via ? ` (via ${r.via})` : '';
    set.add(`  ${mark} ${r.action} ${shortArn(r.resource)}: ${r.summary}${via}`);
    lines.set(r.step, set);
  }
  const out = [title];
  for (const [step, set] of lines) out.push(`${step}:`, ...[...set].sort());
  return out.join('\n');
}

/**
 * The forbidden calls grouped by the rule they test, one line per call with the functions it
 * was evaluated for ("every function" when all of them) and, for any not denied, which.
 */
export function forbiddenTable(
  title: string,
  rows: (Evaluated & { rule: string })[],
  allSteps: readonly string[],
): string {
  const byRule = new Map<string, Map<string, Evaluated[]>>();
  for (const r of rows) {
    const calls = byRule.get(r.rule) ?? new Map<string, Evaluated[]>();
    const key = `${r.action} ${shortArn(r.resource)}: ${r.summary}`;
    calls.set(key, [...(calls.get(key) ?? []), r]);
    byRule.set(r.rule, calls);
  }
  const out = [title];
  for (const [rule, calls] of byRule) {
    out.push(`${rule}:`);
    for (const [call, evaluated] of [...calls].sort(([a], [b]) => a.localeCompare(b))) {
      const steps = evaluated.map((e) => e.step);
      const who = allSteps.every((s) => steps.includes(s as Evaluated['step']))
        ? 'every function'
        : steps.join(', ');
      const allowed = evaluated.filter((e) => e.verdict === 'Allowed').map((e) => e.step);
      out.push(
        `  ${allowed.length === 0 ? 'DENY ' : 'ALLOW'} ${call} [${who}]${allowed.length > 0 ? ` ALLOWED FOR ${allowed.join(', ')}` : ''}`,
      );
    }
  }
  return out.join('\n');
}

function shortArn(arn: string): string {
  return arn.replace(/^arn:aws[a-z-]*:/, '').replace(/:\d{12}:/, ':<account>:');
}
