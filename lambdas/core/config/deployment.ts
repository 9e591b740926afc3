/**
 * The deployment rules: what a schema-valid configuration must also satisfy to run on a target.
 * The schema (./schema.ts) says whether a file is a configuration at all; these rules say whether
 * the AWS deployment (Lambda, Route 53, Secrets Manager, ACM, Step Functions' quotas) can run
 * it. One function, over the parsed configuration, called by the CDK construct at synth and by
 * `certflow validate` (its default target, `aws`), so the two give the same verdict and the same
 * problems. Local mode's checks need the file system and the TSIG adapter: cli/config-checks.ts.
 */
import { ConfigError, type ConfigProblem } from '../errors';
import {
  certificateEventBudget,
  certificateFitsABatch,
  certificatesPerBatch,
  HISTORY_EVENT_LIMIT,
  maxCertificatesPerRun,
  PLANNED_PAYLOAD_BYTES,
  runStateBytesBound,
} from '../execution-limits';
import { monitoringWindowHours } from '../monitoring-window';
import { callIntervalMs } from '../renewal/request-pacing';
import { STEP_SETTINGS } from '../step-settings';
import { ACM_KEY_TYPES, type CertflowConfig } from './schema';

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

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * What makes a parsed configuration undeployable to AWS: what local mode accepts but Lambda
 * cannot use (loopback servers, local files, the local store, RFC 2136), what Route 53, Secrets
 * Manager, ACM and EventBridge Scheduler refuse, and what would not fit Step Functions' quotas
 * (history events, payload size) or PublishRecords' timeout at the configured pacing.
 */
export function deploymentProblems(config: CertflowConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { acme, dns, delegation } = config;

  if (dns.provider !== 'route53') {
    problems.push({
      path: 'dns.provider',
      message: 'the AWS stack writes records through Route 53: set "route53" (rfc2136 is for local mode)',
    });
  } else if (dns.hostedZoneId !== undefined && dns.createHostedZone) {
    // Neither is refused by the schema, for every target.
    problems.push({
      path: 'dns.createHostedZone',
      message: 'set either hostedZoneId (an existing zone) or createHostedZone: true, not both',
    });
  }

  if (/^https?:\/\//.test(acme.directoryUrl) && isLoopbackHostPort(urlHost(acme.directoryUrl))) {
    problems.push({
      path: 'acme.directory',
      message: `"${acme.directory}" is a loopback URL that Lambda cannot reach; use a public https:// directory`,
    });
  }
  if (acme.caBundleFile !== undefined) {
    problems.push({
      path: 'acme.caBundleFile',
      message: 'a local CA bundle file is not available to the Lambda functions; remove it for AWS',
    });
  }
  if (acme.trustAnchorsFile !== undefined) {
    problems.push({
      path: 'acme.trustAnchorsFile',
      message:
        "a local trust-anchor file is not available to the Lambda functions; remove it for AWS (chains from Let's Encrypt, Google and ZeroSSL are checked against the Mozilla root store)",
    });
  }
  const arn = acme.externalAccountBinding?.hmacKeySecretArn;
  if (acme.externalAccountBinding !== undefined && arn === undefined) {
    problems.push({
      path: 'acme.externalAccountBinding.hmacKeySecretArn',
      message: 'in AWS the EAB HMAC key is read from Secrets Manager: set hmacKeySecretArn',
    });
  } else if (arn !== undefined && !SECRET_ARN.test(arn)) {
    problems.push({
      path: 'acme.externalAccountBinding.hmacKeySecretArn',
      message: `"${arn}" is not a Secrets Manager secret ARN`,
    });
  }
  const servers = {
    resolver: delegation.resolver ? [delegation.resolver] : [],
    nameservers: delegation.nameservers ?? [],
  };
  for (const key of ['resolver', 'nameservers'] as const) {
    if (servers[key].some(isLoopbackHostPort)) {
      problems.push({
        path: `delegation.${key}`,
        message: 'loopback addresses are unreachable from Lambda; remove them or use public servers',
      });
    }
  }

  config.certificates.forEach((cert, i) => {
    if (cert.stores.includes('local')) {
      problems.push({
        path: `certificates[${i}].stores`,
        message: `certificate "${cert.name}": the local store is not available in Lambda; use "secretsmanager" and/or "acm"`,
      });
    }
    if (cert.stores.includes('acm') && !ACM_KEY_TYPES.includes(cert.keyType)) {
      problems.push({
        path: `certificates[${i}].keyType`,
        message: `ACM cannot import ${cert.keyType}; use one of ${ACM_KEY_TYPES.join(', ')}`,
      });
    }
  });

  const problem = scheduleExpressionProblem(config.schedule.expression);
  if (problem) problems.push({ path: 'schedule.expression', message: problem });
  else {
    // The alarms' window: the schedule's longest gap must fit CloudWatch's evaluation range.
    try {
      monitoringWindowHours(config);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }

  const { timing } = config;
  if (!certificateFitsABatch(timing)) {
    problems.push({
      path: 'timing',
      message: `one certificate may use up to ${certificateEventBudget(timing)} history events at this timing, more than one Step Functions execution may plan for (${HISTORY_EVENT_LIMIT} less headroom); lower timing.propagationMaxChecks / timing.orderMaxChecks`,
    });
  }
  const names = config.certificates.map((c) => c.name);
  const capacity = maxCertificatesPerRun(timing);
  if (names.length > capacity) {
    problems.push({
      path: 'certificates',
      message: `${names.length} certificates do not fit one run at this timing: ${certificatesPerBatch(timing)} per batch execution, at most ${capacity} per run; lower timing.propagationMaxChecks / timing.orderMaxChecks, or deploy several stacks`,
    });
  }
  // Route 53 pacing: the largest certificate's writes (a read per name and a change per 20 names,
  // each spaced by the per-function interval) must fit well inside PublishRecords' timeout.
  if (dns.provider === 'route53') {
    const concurrency = config.renewal.maxConcurrency * config.renewal.batchConcurrency;
    const rate = dns.requestsPerSecond;
    const interval = callIntervalMs(rate, concurrency);
    const largest = Math.max(0, ...config.certificates.map((c) => c.domains.length));
    const seconds = ((largest + Math.ceil(largest / 20)) * interval) / 1000;
    const budget = STEP_SETTINGS.PublishRecords.timeoutSeconds / 2;
    if (seconds > budget) {
      problems.push({
        path: 'renewal.maxConcurrency',
        message: `with ${concurrency} certificates in flight sharing ${rate} Route 53 requests per second, each function may call Route 53 once every ${interval} ms, so writing the largest certificate's ${largest} names takes ${Math.round(seconds)} s, more than the ${budget} s planned inside PublishRecords' timeout; lower renewal.maxConcurrency or renewal.batchConcurrency, raise dns.requestsPerSecond (at most 5, the account's whole quota), or split the certificate`,
      });
    }
  }
  const bytes = runStateBytesBound(names, timing);
  if (bytes > PLANNED_PAYLOAD_BYTES) {
    problems.push({
      path: 'certificates',
      message: `with all ${names.length} certificates due, a run could carry ${bytes} bytes in one state, over the ${PLANNED_PAYLOAD_BYTES} planned inside Step Functions' 256 KiB payload quota; use shorter certificate names, or deploy several stacks`,
    });
  }
  return problems;
}
