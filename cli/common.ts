import { readFileSync } from 'node:fs';
import { loadConfigFile } from '../lambdas/core/config/load';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { ConfigError, describeError, StackLookupError, UsageError } from '../lambdas/core/errors';

/**
 * What every operator command shares: where it writes, how it loads the config, how failures
 * become exit codes (0 ok, 1 a problem found or a failure, 2 bad config or usage), and how the
 * deployed stack's outputs are found.
 */

/** Where a command writes: `out` is stdout (the report or JSON), `err` is stderr. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}

export const processIO: CliIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Exit codes of every command; `valuesMayRemain` as local mode's (issued, but a Cleanup left TXT values). */
export const EXIT = { ok: 0, problem: 1, usage: 2, valuesMayRemain: 3 } as const;

/**
 * Run a command body and turn what it throws into an exit code and a message: ConfigError and
 * UsageError → 2; anything else → 1. With `json`, the error also goes to stdout as
 * `{"ok": false, "error": {"name", "message", "problems"?}}` so scripts always get JSON.
 */
export async function runCommand(io: CliIO, json: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    const usage = error instanceof ConfigError || error instanceof UsageError;
    io.err(error instanceof ConfigError ? error.message : `certflow: ${describeError(error)}`);
    if (json) {
      const e = error instanceof Error ? error : new Error(String(error));
      io.out(
        JSON.stringify(
          {
            ok: false,
            error: {
              name: e.name,
              message: e.message,
              ...(error instanceof ConfigError ? { problems: error.problems } : {}),
            },
          },
          null,
          2,
        ),
      );
    }
    return usage ? EXIT.usage : EXIT.problem;
  }
}

/** Load and validate the config file (throws ConfigError, exit code 2). */
export function loadConfig(file: string): CertflowConfig {
  return loadConfigFile(file);
}

/** Options that say where the deployed stack is. */
export interface StackOptions {
  /** The JSON file `cdk deploy --outputs-file` wrote. */
  stackOutputs?: string;
  /** The stack to ask CloudFormation about. @default "Certflow" (bin/app.ts) */
  stackName?: string;
  region?: string;
}

export interface StackInfo {
  outputs: Record<string, string>;
  /** Where the outputs came from, for messages. */
  source: string;
}

export const DEFAULT_STACK_NAME = 'Certflow';

/**
 * The outputs in a `cdk deploy --outputs-file` file: `{"<stack>": {"<OutputKey>": "<value>"}}`.
 * With several stacks, `stackName` picks one, else the one with a `StateMachineArn` output.
 * @throws StackLookupError naming the file and the problem.
 */
export function readOutputsFile(file: string, stackName?: string): StackInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new StackLookupError(`cannot read the stack outputs file ${file}: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StackLookupError(
      `${file} is not a cdk outputs file; write one with: npx cdk deploy --outputs-file ${file}`,
    );
  }
  const stacks = Object.entries(parsed as Record<string, unknown>).filter(
    (e): e is [string, Record<string, unknown>] =>
      e[1] !== null && typeof e[1] === 'object' && !Array.isArray(e[1]),
  );
  const chosen = stackName
    ? stacks.find(([name]) => name === stackName)
    : stacks.length === 1
      ? stacks[0]
      : stacks.find(([, o]) => typeof o.StateMachineArn === 'string');
  if (!chosen) {
    throw new StackLookupError(
      `${file} has ${stackName ? `no stack "${stackName}"` : 'no certflow stack'}; it has: ${stacks.map(([n]) => n).join(', ') || 'nothing'}`,
    );
  }
  const outputs = Object.fromEntries(
    Object.entries(chosen[1]).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])),
  );
  return { outputs, source: `${file} (stack ${chosen[0]})` };
}

/**
 * The stack's outputs: from `--stack-outputs`, else CloudFormation DescribeStacks of
 * `--stack-name` (default "Certflow").
 * @throws StackLookupError when neither works.
 */
export async function stackOutputs(opts: StackOptions): Promise<StackInfo> {
  if (opts.stackOutputs) return readOutputsFile(opts.stackOutputs, opts.stackName);
  const stackName = opts.stackName ?? DEFAULT_STACK_NAME;
  const { createCloudFormationClient, describeStackOutputs } = await import(
    '../lambdas/adapters/aws/stack-outputs'
  );
  const outputs = await describeStackOutputs(createCloudFormationClient(opts.region), stackName);
  return { outputs, source: `CloudFormation stack ${stackName}` };
}

/**
 * The name prefix of the certificate secrets (`<prefix>/certificate/<name>`), from the stack's
 * `CertificateSecretNamePrefix` output; the construct's default (`certflow`) when the stack
 * cannot be read.
 */
export async function certificateSecretNamePrefix(stack: () => Promise<StackInfo>): Promise<string> {
  const info = await stack().catch(() => undefined);
  return info?.outputs.CertificateSecretNamePrefix ?? 'certflow';
}

/** Run `fn` over `items` with at most `limit` at once, keeping the order of results. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Check `--certificate` names against the config. @throws UsageError listing the configured names. */
export function checkCertificateNames(config: CertflowConfig, names: string[] | undefined): void {
  const known = config.certificates.map((c) => c.name);
  const unknown = (names ?? []).filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown certificate${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; configured: ${known.join(', ')}`,
    );
  }
}
