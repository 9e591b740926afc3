import * as path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { deploymentProblems } from '../lambdas/core/config/deployment';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { ConfigError } from '../lambdas/core/errors';

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
  // The same rules `certflow validate` runs (its default target is this one).
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
