import { tsigProblems } from '../lambdas/adapters/dns/rfc2136/tsig-problems';
import { localStoreProblems } from '../lambdas/adapters/store/local-directory/store-path';
import { configFileProblems } from '../lambdas/core/config/files';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { ConfigError, type ConfigProblem } from '../lambdas/core/errors';

/**
 * What the schema cannot check but a run needs, checked without side effects: the local store
 * path is usable, every file the config names is a readable regular file of at most 64 KiB, and
 * the RFC 2136 TSIG key (RFC 8945) is well-formed and readable. Used by
 * `certflow validate` and, before anything is started or ordered, by `certflow local`.
 */
export function runtimeConfigProblems(
  config: CertflowConfig,
  env: NodeJS.ProcessEnv = process.env,
): ConfigProblem[] {
  return [...localStoreProblems(config), ...configFileProblems(config), ...tsigProblems(config, env)];
}

/**
 * Throw a {@link ConfigError} naming `source` when {@link runtimeConfigProblems} finds any;
 * `env`: the environment the functions will read (`dns.tsig.secretEnv`).
 */
export function assertRuntimeConfigUsable(
  config: CertflowConfig,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const problems = runtimeConfigProblems(config, env);
  if (problems.length > 0) throw new ConfigError(problems, source);
}
