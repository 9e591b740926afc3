#!/usr/bin/env node
import '../lambdas/runtime/polyfills';
import { Command, Option } from 'commander';
import { packageVersion } from '../cli/version';
import { DEPLOYMENT_TARGETS, type DeploymentTarget } from '../lambdas/core/config/deployment-targets';
import { errorMessage } from '../lambdas/core/errors';

/**
 * The operator CLI. This file only declares commands and options: each command loads its
 * implementation (cli/*, local/*) when it runs, so `--help` and `--version` load neither
 * aws-cdk-lib, nor the AWS SDK, nor the local runner. Exit codes: 0 ok, 1 a problem found or a
 * failure, 2 bad configuration or usage. Every command that reports takes `--json`
 * (docs/cli.md describes each document).
 */
const program = new Command()
  .name('certflow')
  .description('ACME DNS-01 certificates through CNAME delegation: on AWS Step Functions, or locally')
  .version(packageVersion(), '-V, --version', 'print the certflow version')
  // Usage errors (unknown option, missing argument) exit 2; --help and --version exit 0.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

const setExit = (code: number): void => {
  process.exitCode = code;
};
const configOption = (): Option =>
  new Option('-c, --config <file>', 'certflow config file').default('certflow.config.json');
const jsonOption = (): Option => new Option('--json', 'print one JSON document (docs/cli.md)').default(false);
const stackOptions = (cmd: Command): Command =>
  cmd
    .option('--stack-outputs <file>', 'the outputs file `npx cdk deploy --outputs-file <file>` wrote')
    .option(
      '--stack-name <name>',
      'the deployed stack, for CloudFormation DescribeStacks (default: Certflow)',
    )
    .option('--region <region>', 'AWS region of the stack (default: the AWS SDK configuration)');

program
  .command('local')
  .description(
    'run the renewal state machine locally: bundled Pebble + BIND on loopback, or your own servers with --external',
  )
  .option('-c, --config <file>', 'certflow config file (default: the bundled demo under example.test)')
  .option('--external', 'use the ACME directory and RFC 2136 server from --config; start nothing', false)
  .option('-w, --workdir <dir>', 'where certificates, account keys and run records go', '.certflow-local')
  .option('-f, --force', 'renew even certificates that are not due', false)
  .option(
    '--dry-run',
    "issue from the CA's staging directory (or the configured test CA) and store nothing",
    false,
  )
  .addOption(new Option('--certificate <name...>', 'only these certificates'))
  .option('--no-install', 'never install missing Debian packages')
  .addOption(jsonOption())
  .action(
    async (opts: {
      config?: string;
      external: boolean;
      workdir: string;
      force: boolean;
      dryRun: boolean;
      certificate?: string[];
      install: boolean;
      json: boolean;
    }) => {
      const { staleBuildWarning } = await import('../lib/bundling/build-artifacts');
      const stale = staleBuildWarning();
      if (stale) process.stderr.write(`${stale}\n`);
      const { runLocal } = await import('../local/run-local');
      const result = await runLocal({
        configFile: opts.config,
        external: opts.external,
        workdir: opts.workdir,
        force: opts.force,
        dryRun: opts.dryRun,
        certificates: opts.certificate,
        install: opts.install,
        handleSignals: true,
        // With --json, stdout carries only the JSON document; the progress and report go to stderr.
        ...(opts.json ? { out: (line: string) => process.stderr.write(`${line}\n`) } : {}),
      });
      if (opts.json) {
        const { localReport } = await import('../cli/local-json');
        process.stdout.write(`${JSON.stringify(localReport(result), null, 2)}\n`);
      }
      setExit(result.exitCode);
    },
  );

program
  .command('validate')
  .description('validate a config file and list every problem, with the deployment rules of the target')
  .addOption(configOption())
  .addOption(
    new Option(
      '--target <target>',
      'aws: every rule `cdk synth` runs; local: the checks `certflow local` makes before it starts (local store path, files, TSIG key)',
    )
      .choices(DEPLOYMENT_TARGETS)
      .default('aws'),
  )
  .addOption(jsonOption())
  .action(async (opts: { config: string; json: boolean; target: DeploymentTarget }) => {
    const { validateCommand } = await import('../cli/validate');
    setExit(await validateCommand(opts));
  });

program
  .command('definition')
  .description(
    'print a state machine definition (ASL JSON) as local mode runs it: the renewal run, or with --batch the batch it starts',
  )
  .option('-o, --output <file>', 'write to a file instead of stdout')
  .option('--batch', 'the IssueBatch state machine (one execution per batch of due certificates)', false)
  .action(async (opts: { output?: string; batch: boolean }) => {
    const { writeFileSync } = await import('node:fs');
    const { localDefinitions } = await import('../local/local-definition');
    const definitions = localDefinitions();
    const json = `${JSON.stringify(opts.batch ? definitions.batch : definitions.run, null, 2)}\n`;
    if (opts.output) writeFileSync(opts.output, json);
    else process.stdout.write(json);
  });

stackOptions(
  program
    .command('plan')
    .description(
      'print every DNS record to create: _acme-challenge CNAMEs, the NS delegation of the validation zone, CAA for the CA',
    )
    .addOption(configOption())
    .addOption(jsonOption())
    .option('--no-aws', 'never call AWS (the name servers then come only from --stack-outputs)')
    .addOption(
      new Option('--caa-identity <domain...>', "the CA's CAA identifier (default: the directory's)"),
    ),
).action(async (opts: Parameters<typeof import('../cli/plan').planCommand>[0]) => {
  const { planCommand } = await import('../cli/plan');
  setExit(await planCommand(opts));
});

stackOptions(
  program
    .command('check')
    .description(
      'ask live DNS whether every name would validate: CNAME into the validation zone, its delegation, CAA',
    )
    .addOption(configOption())
    .addOption(jsonOption())
    .addOption(
      new Option(
        '--nameserver <ns=host:port...>',
        'reach a name server at this address instead of its address record and port 53',
      ),
    )
    .addOption(new Option('--caa-identity <domain...>', "the CA's CAA identifier (default: the directory's)"))
    .option('--account-uri <url>', 'your ACME account URL, to check CAA accounturi (RFC 8657)')
    .option('-w, --workdir <dir>', "local mode's work directory (its ACME account)", '.certflow-local')
    .option('--no-aws', 'never call AWS'),
).action(async (opts: Parameters<typeof import('../cli/check').checkCommand>[0]) => {
  const { checkCommand } = await import('../cli/check');
  setExit(await checkCommand(opts));
});

stackOptions(
  program
    .command('status')
    .description(
      'every configured certificate from its stores: expiry, due or not and why, last run; counts first',
    )
    .addOption(configOption())
    .addOption(jsonOption())
    .option('--all', 'list every certificate, not only those needing attention', false)
    .addOption(new Option('--certificate <name...>', 'only these certificates'))
    .option('-w, --workdir <dir>', "local mode's work directory (its run records)", '.certflow-local')
    .option('--no-ari', 'do not ask the CA for renewal windows (RFC 9773)')
    .option('--no-aws', 'never call AWS'),
).action(async (opts: Parameters<typeof import('../cli/status').statusCommand>[0]) => {
  const { statusCommand } = await import('../cli/status');
  setExit(await statusCommand(opts));
});

stackOptions(
  program
    .command('run')
    .description('start the deployed state machine, follow it state by state, report like local mode')
    .addOption(configOption())
    .addOption(jsonOption())
    .option('--state-machine-arn <arn>', 'the state machine (default: the stack output StateMachineArn)')
    .addOption(new Option('--certificate <name...>', 'only these certificates'))
    .option('-f, --force', 'renew even certificates that are not due', false)
    .option(
      '--dry-run',
      "issue from the CA's staging directory (or acme.dryRunDirectory) and store nothing",
      false,
    )
    .option('--name <name>', 'the execution name')
    .addOption(
      new Option('--poll-interval <seconds>', 'seconds between two history polls')
        .default(5)
        .argParser((v) => {
          const n = Number(v);
          if (!(n > 0 && n <= 300)) throw new Error(`"${v}" is not a number of seconds (0-300)`);
          return n;
        }),
    ),
).action(
  async (opts: Parameters<typeof import('../cli/run').runExecutionCommand>[0] & { pollInterval: number }) => {
    const { runExecutionCommand } = await import('../cli/run');
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    setExit(
      await runExecutionCommand({ ...opts, pollIntervalMs: opts.pollInterval * 1000, signal: stop.signal }),
    );
  },
);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`certflow: ${errorMessage(error)}\n`);
  process.exitCode = 1;
});
