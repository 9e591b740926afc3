/**
 * CDK app entry (`npx cdk synth`, `npx cdk deploy`). Reads the configuration file
 * (`-c config=<path>`, else $CERTFLOW_CONFIG_FILE, else `certflow.config.json`; the stack name
 * `-c stackName=…`, default `Certflow`; the deployment's prefix `-c secretNamePrefix=…`, default
 * the stack name), and on any problem prints every problem and exits 1, so a bad configuration
 * fails the synth, not a renewal.
 */
import { App } from 'aws-cdk-lib';
import { loadConfigFile } from '../lambdas/core/config/load';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { ConfigError, type ConfigProblem } from '../lambdas/core/errors';
import { CertflowStack } from '../lib/certflow-stack';

/** The config file path: context `config`, then $CERTFLOW_CONFIG_FILE, then the default. */
function configPath(app: App): string {
  const fromContext: unknown = app.node.tryGetContext('config');
  if (typeof fromContext === 'string' && fromContext !== '') return fromContext;
  return process.env.CERTFLOW_CONFIG_FILE || 'certflow.config.json';
}

function fail(file: string, problems: ConfigProblem[]): never {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  process.stderr.write(`${new ConfigError(unique, file).message}\n`);
  process.exit(1);
}

function main(): void {
  const app = new App();
  const file = configPath(app);
  let config: CertflowConfig;
  try {
    config = loadConfigFile(file);
  } catch (error) {
    // Schema problems first; the deployment rules (the construct's, below) need a parsed
    // configuration: `certflow validate` reports in the same two steps.
    if (error instanceof ConfigError) fail(file, error.problems);
    throw error;
  }
  const stackName: unknown = app.node.tryGetContext('stackName');
  // The deployment's name prefix (secrets, key and certificate tags, alarms); default: the stack name.
  const secretNamePrefix: unknown = app.node.tryGetContext('secretNamePrefix');
  try {
    new CertflowStack(app, typeof stackName === 'string' && stackName !== '' ? stackName : 'Certflow', {
      config,
      ...(typeof secretNamePrefix === 'string' && secretNamePrefix !== '' ? { secretNamePrefix } : {}),
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    });
  } catch (error) {
    if (error instanceof ConfigError) fail(file, error.problems);
    throw error;
  }
  app.synth();
}

main();
