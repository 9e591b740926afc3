import { type CliIO, EXIT, loadConfig, processIO, runCommand } from './common';
import { assertRuntimeConfigUsable } from './config-checks';

/**
 * `certflow validate`: load the config file with the one schema and list every problem (exit 2),
 * then check, without side effects, what the schema cannot: the local store path and the TSIG
 * key file (the same checks `certflow local` makes before it starts).
 */
export async function validateCommand(
  opts: { config: string; json?: boolean },
  io: CliIO = processIO,
): Promise<number> {
  return runCommand(io, opts.json === true, async () => {
    const config = loadConfig(opts.config);
    assertRuntimeConfigUsable(config, opts.config);
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
