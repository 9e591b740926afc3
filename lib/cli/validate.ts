import { tsigProblems } from '../../lambdas/adapters/dns/rfc2136/tsig-problems';
import { localStoreProblems } from '../../lambdas/adapters/store/local-directory/store-path';
import { ConfigError } from '../../lambdas/core/errors';
import { type CliIO, EXIT, loadConfig, processIO, runCommand } from './common';

/**
 * `certflow validate`: load the config file with the one schema and list every problem (exit 2),
 * then check, without side effects, what the schema cannot: the local store path and the TSIG
 * key file.
 */
export async function validateCommand(
  opts: { config: string; json?: boolean },
  io: CliIO = processIO,
): Promise<number> {
  return runCommand(io, opts.json === true, async () => {
    const config = loadConfig(opts.config);
    const problems = [...localStoreProblems(config), ...tsigProblems(config)];
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
