import { deploymentProblems } from '../lambdas/core/config/deployment';
import type { DeploymentTarget } from '../lambdas/core/config/deployment-targets';
import { ConfigError } from '../lambdas/core/errors';
import { type CliIO, EXIT, loadConfig, processIO, runCommand } from './common';
import { runtimeConfigProblems } from './config-checks';

/**
 * `certflow validate`: load the config file with the one schema and list every problem (exit 2),
 * then what the target needs of the parsed configuration:
 * - `aws` (default): the deployment rules, the same function the CDK construct calls at synth
 *   (lambdas/core/config/deployment.ts), so validate and `cdk synth` agree on every configuration;
 * - `local`: without side effects, what the schema cannot check: the local store path and the
 *   files and TSIG key the configuration names (the same checks `certflow local` makes before it
 *   starts).
 */
export async function validateCommand(
  opts: { config: string; json?: boolean; target?: DeploymentTarget },
  io: CliIO = processIO,
): Promise<number> {
  return runCommand(io, opts.json === true, async () => {
    const config = loadConfig(opts.config);
    const target = opts.target ?? 'aws';
    const problems = target === 'aws' ? deploymentProblems(config) : runtimeConfigProblems(config);
    if (problems.length > 0) throw new ConfigError(problems, opts.config);
    if (opts.json) {
      io.out(
        JSON.stringify({ ok: true, config: opts.config, certificates: config.certificates.length }, null, 2),
      );
    } else {
      io.out(`${opts.config}: valid (${config.certificates.length} certificate(s))`);
    }
    return EXIT.ok;
  });
}
