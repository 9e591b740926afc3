import * as path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { expandCertificates } from '../lambdas/core/config/compact';
import { arr, obj, str } from '../lambdas/core/config/loose';
import { ACM_KEY_TYPES, type CertflowConfig } from '../lambdas/core/config/schema';
import { ConfigError, type ConfigProblem } from '../lambdas/core/errors';
import { callIntervalMs } from '../lambdas/core/renewal/request-pacing';
import {
  certificateEventBudget,
  certificateFitsABatch,
  certificatesPerBatch,
  HISTORY_EVENT_LIMIT,
  maxCertificatesPerRun,
  PLANNED_PAYLOAD_BYTES,
  runStateBytesBound,
} from './state-machine/limits';
import { STEP_SETTINGS } from './state-machine/step-settings';

/** Properties of the {@link Certflow} construct. */
export interface CertflowProps {
  /** The validated configuration (`loadConfigFile` / `parseConfig` from lambdas/core/config/load.ts). */
  readonly config: CertflowConfig;
  /** Retention of every log group the construct creates. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Repository root holding package-lock.json and lambdas/ (for bundling). @default this repository */
  readonly projectRoot?: string;
  /**
   * The deployment's name prefix: its secrets are `<prefix>/certificate/<name>`,
   * `<prefix>/acme-account/<hash>` and `<prefix>/pending-key/<name>`; its secrets KMS key and the
   * certificates it imports into ACM are tagged `certflow:deployment=<prefix>`; its ACM expiry
   * alarms are named after it. Everything its roles may touch is scoped by it, so two deployments
   * in one account need two prefixes, and a deployment that is deleted and deployed again with
   * the same prefix finds what the first one left (docs/deploy.md, "Teardown").
   * @default the stack's name
   */
  readonly secretNamePrefix?: string;
  /**
   * What happens to the secrets KMS key when the stack is deleted (the secrets themselves are
   * created at run time and are not in the template). @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Map stack traces through each bundle's source map at run time (`--enable-source-maps`).
   * Off by default: reading the map costs cold-start time; the maps are in the assets either way.
   * @default false
   */
  readonly sourceMapsAtRuntime?: boolean;
}

/** {@link CertflowProps} with every default applied. */
export interface ResolvedCertflowProps {
  readonly config: CertflowConfig;
  readonly logRetention: logs.RetentionDays;
  readonly projectRoot: string;
  readonly secretNamePrefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly sourceMapsAtRuntime: boolean;
}

export const DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,/#LW-]+$/;

/**
 * What is wrong with an EventBridge Scheduler expression for a recurring run, or undefined.
 * Accepts `rate(<n> <unit>)` and six-field `cron(min hour day-of-month month day-of-week year)`
 * with `?` in one of the two day fields; `at(...)` is refused (it runs once).
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2];
    if (n < 1) return `"${expression}": the rate must be at least 1`;
    if ((n === 1) !== !unit.endsWith('s')) {
      return `"${expression}": write "rate(1 ${unit.replace(/s$/, '')})" for one and "rate(${n} ${unit.replace(/s?$/, 's')})" otherwise`;
    }
    return undefined;
  }
  if (expression.startsWith('at(')) {
    return `"${expression}": at() runs once; renewals need rate() or cron()`;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) {
    return `"${expression}" is not an EventBridge Scheduler expression; use e.g. "cron(17 3,15 * * ? *)" or "rate(12 hours)"`;
  }
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) {
    return `"${expression}" has ${fields.length} fields; cron() takes six: minutes hours day-of-month month day-of-week year`;
  }
  const bad = fields.find((f) => !CRON_FIELD.test(f));
  if (bad !== undefined) return `"${expression}": "${bad}" is not a valid cron field`;
  if ((fields[2] === '?') === (fields[4] === '?')) {
    return `"${expression}": exactly one of day-of-month and day-of-week must be "?"`;
  }
  return undefined;
}

function urlHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

function isLoopbackHostPort(value: string): boolean {
  const host = value.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Problems that make a (schema-valid or raw) configuration undeployable to AWS: things local
 * mode accepts but Lambda cannot use. Loose on purpose, so the CDK app can list them together
 * with schema problems.
 */
export function deploymentProblems(input: unknown): ConfigProblem[] {
  const config = expandCertificates(input);
  const problems: ConfigProblem[] = [];
  const root = obj(config);
  const acme = obj(root.acme);
  const dns = obj(root.dns);
  const storage = obj(root.storage);
  const delegation = obj(root.delegation);

  if (root.dns !== undefined && dns.provider !== 'route53') {
    problems.push({
      path: 'dns.provider',
      message: 'the AWS stack writes records through Route 53: set "route53" (rfc2136 is for local mode)',
    });
  }
  if (dns.provider === 'route53') {
    const hasId = str(dns.hostedZoneId) !== undefined;
    if (!hasId && dns.createHostedZone !== true) {
      problems.push({
        path: 'dns.hostedZoneId',
        message: "set the delegated zone's hostedZoneId, or createHostedZone: true",
      });
    }
    if (hasId && dns.createHostedZone === true) {
      problems.push({
        path: 'dns.createHostedZone',
        message: 'set either hostedZoneId (an existing zone) or createHostedZone: true, not both',
      });
    }
  }

  const directory = str(acme.directory) ?? '';
  if (/^https?:\/\//.test(directory) && isLoopbackHostPort(urlHost(directory))) {
    problems.push({
      path: 'acme.directory',
      message: `"${directory}" is a loopback URL that Lambda cannot reach; use a public https:// directory`,
    });
  }
  if (str(acme.caBundleFile) !== undefined) {
    problems.push({
      path: 'acme.caBundleFile',
      message: 'a local CA bundle file is not available to the Lambda functions; remove it for AWS',
    });
  }
  if (str(acme.trustAnchorsFile) !== undefined) {
    problems.push({
      path: 'acme.trustAnchorsFile',
      message:
        "a local trust-anchor file is not available to the Lambda functions; remove it for AWS (chains from Let's Encrypt, Google and ZeroSSL are checked against the Mozilla root store)",
    });
  }
  if (acme.externalAccountBinding !== undefined) {
    const arn = str(obj(acme.externalAccountBinding).hmacKeySecretArn);
    if (arn === undefined) {
      problems.push({
        path: 'acme.externalAccountBinding.hmacKeySecretArn',
        message: 'in AWS the EAB HMAC key is read from Secrets Manager: set hmacKeySecretArn',
      });
    } else if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(arn)) {
      problems.push({
        path: 'acme.externalAccountBinding.hmacKeySecretArn',
        message: `"${arn}" is not a Secrets Manager secret ARN`,
      });
    }
  }
  for (const key of ['resolver', 'nameservers'] as const) {
    const values = key === 'resolver' ? [delegation.resolver] : arr(delegation.nameservers);
    if (values.some((v) => typeof v === 'string' && isLoopbackHostPort(v))) {
      problems.push({
        path: `delegation.${key}`,
        message: 'loopback addresses are unreachable from Lambda; remove them or use public servers',
      });
    }
  }

  const defaultStores = Array.isArray(storage.defaultStores) ? storage.defaultStores : ['secretsmanager'];
  arr(root.certificates).forEach((c, i) => {
    const cert = obj(c);
    const stores = Array.isArray(cert.stores) ? cert.stores : defaultStores;
    if (stores.includes('local')) {
      problems.push({
        path: Array.isArray(cert.stores) ? `certificates[${i}].stores` : 'storage.defaultStores',
        message: `certificate "${str(cert.name) ?? i}": the local store is not available in Lambda; use "secretsmanager" and/or "acm"`,
      });
    }
    const keyType = str(cert.keyType) ?? 'ecdsa-p256';
    if (stores.includes('acm') && !ACM_KEY_TYPES.includes(keyType)) {
      problems.push({
        path: `certificates[${i}].keyType`,
        message: `ACM cannot import ${keyType}; use one of ${ACM_KEY_TYPES.join(', ')}`,
      });
    }
  });

  const schedule = obj(root.schedule);
  const expression = str(schedule.expression);
  if (expression !== undefined) {
    const problem = scheduleExpressionProblem(expression);
    if (problem) problems.push({ path: 'schedule.expression', message: problem });
  }

  const timing = obj(root.timing);
  const checks = {
    propagationMaxChecks: typeof timing.propagationMaxChecks === 'number' ? timing.propagationMaxChecks : 60,
    orderMaxChecks: typeof timing.orderMaxChecks === 'number' ? timing.orderMaxChecks : 60,
  };
  if (!certificateFitsABatch(checks)) {
    problems.push({
      path: 'timing',
      message: `one certificate may use up to ${certificateEventBudget(checks)} history events at this timing, more than one Step Functions execution may plan for (${HISTORY_EVENT_LIMIT} less headroom); lower timing.propagationMaxChecks / timing.orderMaxChecks`,
    });
  }
  const names = arr(root.certificates).map((c, i) => str(obj(c).name) ?? `certificate-${i}`);
  const capacity = maxCertificatesPerRun(checks);
  if (names.length > capacity) {
    problems.push({
      path: 'certificates',
      message: `${names.length} certificates do not fit one run at this timing: ${certificatesPerBatch(checks)} per batch execution, at most ${capacity} per run; lower timing.propagationMaxChecks / timing.orderMaxChecks, or deploy several stacks`,
    });
  }
  // Route 53 pacing: the largest certificate's writes (a read per name and a change per 20 names,
  // each spaced by the per-function interval) must fit well inside PublishRecords' timeout.
  if (dns.provider === 'route53') {
    const renewal = obj(root.renewal);
    const concurrency =
      (typeof renewal.maxConcurrency === 'number' ? renewal.maxConcurrency : 4) *
      (typeof renewal.batchConcurrency === 'number' ? renewal.batchConcurrency : 1);
    const rate = typeof dns.requestsPerSecond === 'number' ? dns.requestsPerSecond : 3;
    const interval = callIntervalMs(rate, concurrency);
    const largest = Math.max(0, ...arr(root.certificates).map((c) => arr(obj(c).domains).length));
    const seconds = ((largest + Math.ceil(largest / 20)) * interval) / 1000;
    const budget = STEP_SETTINGS.PublishRecords.timeoutSeconds / 2;
    if (seconds > budget) {
      problems.push({
        path: 'renewal.maxConcurrency',
        message: `with ${concurrency} certificates in flight sharing ${rate} Route 53 requests per second, each function may call Route 53 once every ${interval} ms, so writing the largest certificate's ${largest} names takes ${Math.round(seconds)} s, more than the ${budget} s planned inside PublishRecords' timeout; lower renewal.maxConcurrency or renewal.batchConcurrency, raise dns.requestsPerSecond (at most 5, the account's whole quota), or split the certificate`,
      });
    }
  }
  const bytes = runStateBytesBound(names, checks);
  if (bytes > PLANNED_PAYLOAD_BYTES) {
    problems.push({
      path: 'certificates',
      message: `with all ${names.length} certificates due, a run could carry ${bytes} bytes in one state, over the ${PLANNED_PAYLOAD_BYTES} planned inside Step Functions' 256 KiB payload quota; use shorter certificate names, or deploy several stacks`,
    });
  }
  return problems;
}

const SECRET_PREFIX = /^[A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*$/;
/** The kinds of secret under a prefix (lambdas/adapters/aws/secret-names.ts). */
const SECRET_KINDS = ['acme-account', 'certificate', 'pending-key'];

/** What the construct takes from where it is defined. */
export interface CertflowPropsContext {
  /** The name of the stack the construct is in: the default secret name prefix. */
  readonly stackName?: string;
}

/**
 * Apply defaults and validate everything the construct relies on; throws one {@link ConfigError}
 * listing every problem (configuration and props), not just the first.
 */
export function validateCertflowProps(
  props: CertflowProps,
  context: CertflowPropsContext = {},
): ResolvedCertflowProps {
  const problems = deploymentProblems(props.config);
  const logRetention = props.logRetention ?? DEFAULT_LOG_RETENTION;
  const known = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!known.includes(logRetention)) {
    problems.push({
      path: 'logRetention',
      message: `${String(logRetention)} is not a CloudWatch Logs retention (use logs.RetentionDays)`,
    });
  } else if (logRetention === logs.RetentionDays.INFINITE) {
    problems.push({
      path: 'logRetention',
      message: 'logs must expire: choose a finite logs.RetentionDays (default THREE_MONTHS)',
    });
  }
  const secretNamePrefix = props.secretNamePrefix ?? context.stackName ?? 'certflow';
  if (!SECRET_PREFIX.test(secretNamePrefix) || secretNamePrefix.length > 200) {
    problems.push({
      path: 'secretNamePrefix',
      message: `"${secretNamePrefix}": letters, digits and _+=.@- separated by "/", at most 200 characters`,
    });
  } else if (secretNamePrefix.split('/').some((segment) => SECRET_KINDS.includes(segment))) {
    // `a/certificate` would put its secrets under `a/certificate/…`, which the deployment with
    // the prefix `a` is granted.
    problems.push({
      path: 'secretNamePrefix',
      message: `"${secretNamePrefix}": no part of the prefix may be ${SECRET_KINDS.map((k) => `"${k}"`).join(', ')} (another deployment's grants would cover its secrets); choose another name`,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, 'certflow construct props');
  return {
    config: props.config,
    logRetention,
    projectRoot: props.projectRoot ?? path.resolve(__dirname, '..'),
    secretNamePrefix,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    sourceMapsAtRuntime: props.sourceMapsAtRuntime ?? false,
  };
}
