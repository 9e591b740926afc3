#!/usr/bin/env -S npx tsx
import '../lambdas/runtime/polyfills';
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { tsigProblems } from '../lambdas/adapters/dns/rfc2136/tsig-problems';
import { localStoreProblems } from '../lambdas/adapters/store/local-directory/store-path';
import { loadConfigFile } from '../lambdas/core/config/load';
import { ConfigError } from '../lambdas/core/errors';
import { runLocal } from '../lib/local/run-local';
import { renderLocalDefinition } from '../lib/state-machine/render';

/** The operator CLI: `local` (the main job, no AWS), `validate`, `definition`. */
const program = new Command()
  .name('certflow')
  .description('ACME DNS-01 certificates through CNAME delegation: on AWS Step Functions, or locally');

program
  .command('local')
  .description(
    'run the renewal state machine locally: bundled Pebble + BIND on loopback, or your own servers with --external',
  )
  .option('-c, --config <file>', 'certflow config file (default: the bundled demo under example.test)')
  .option('--external', 'use the ACME directory and RFC 2136 server from --config; start nothing', false)
  .option('-w, --workdir <dir>', 'where certificates, account keys and run records go', '.certflow-local')
  .option('-f, --force', 'renew even certificates that are not due', false)
  .addOption(new Option('--certificate <name...>', 'only these certificates'))
  .option('--no-install', 'never install missing Debian packages')
  .action(
    async (opts: {
      config?: string;
      external: boolean;
      workdir: string;
      force: boolean;
      certificate?: string[];
      install: boolean;
    }) => {
      const result = await runLocal({
        configFile: opts.config,
        external: opts.external,
        workdir: opts.workdir,
        force: opts.force,
        certificates: opts.certificate,
        install: opts.install,
        handleSignals: true,
      });
      process.exitCode = result.exitCode;
    },
  );

program
  .command('validate')
  .description('validate a config file and list every problem')
  .option('-c, --config <file>', 'config file', 'certflow.config.json')
  .action((opts: { config: string }) => {
    try {
      const config = loadConfigFile(opts.config);
      // Checks without side effects beyond the schema: the store path and the TSIG key file.
      const problems = [...localStoreProblems(config), ...tsigProblems(config)];
      if (problems.length > 0) throw new ConfigError(problems, opts.config);
      process.stdout.write(`${opts.config}: valid (${config.certificates.length} certificate(s))\n`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
    }
  });

program
  .command('definition')
  .description('print the state machine definition (ASL JSON) as local mode runs it')
  .option('-o, --output <file>', 'write to a file instead of stdout')
  .action((opts: { output?: string }) => {
    const json = `${JSON.stringify(renderLocalDefinition(), null, 2)}\n`;
    if (opts.output) writeFileSync(opts.output, json);
    else process.stdout.write(json);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`certflow: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
