import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigProblem } from '../errors';
import { compactProblems, expandCertificates, fromDefaults } from './compact';
import { type CertflowConfig, configSchema, crossFieldProblems, normalizeConfig } from './schema';

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

/** zod's "expected object, received undefined" for a missing field, said plainly. */
function readable(issue: { message: string; code?: string; expected?: unknown }): string {
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
    return `is required (${String(issue.expected)}); see the configuration table in docs/configuration.md`;
  }
  return issue.message;
}

/** Validate an already-parsed config object; throws {@link ConfigError} listing every problem. */
export function parseConfig(input: unknown, source = 'configuration'): CertflowConfig {
  // Compact declarations (names as strings, certificateDefaults) are written out first.
  const expanded = expandCertificates(input);
  const compact = compactProblems(input);
  // A string entry with no usable name is reported once, by compactProblems.
  const flagged = new Set(compact.map((p) => p.path[1]));
  const result = configSchema.safeParse(expanded);
  const schemaIssues = result.success
    ? []
    : result.error.issues.filter(
        (i) =>
          !(i.path[0] === 'certificates' && flagged.has(i.path[1] as number)) && !fromDefaults(input, i.path),
      );
  const issues = [...schemaIssues, ...compact, ...crossFieldProblems(expanded)];
  if (!result.success || issues.length > 0) {
    const problems: ConfigProblem[] = issues.map((issue) => ({
      path: formatPath(issue.path),
      message: readable(issue),
    }));
    throw new ConfigError(problems, source);
  }
  return normalizeConfig(result.data);
}

/** Read and validate a config file. */
export function loadConfigFile(path: string): CertflowConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(cause as Error).message}` }], path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError([{ path: '', message: `not valid JSON: ${(cause as Error).message}` }], path);
  }
  return parseConfig(json, path);
}
