/**
 * The definition local mode runs, without synthesizing the CDK app on every run: rendered once
 * (lib/state-machine/render.ts synthesizes the same construct the stack deploys) and cached under
 * `.certflow-build/definitions/`, keyed by a hash of everything it is built from (this folder's
 * modules, the state contract and the aws-cdk-lib version) and its options. The parity test
 * (test/cdk/definition-parity.test.ts) proves the cached definition equals the deployed one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultProjectRoot } from '../bundling/function-bundles';
import type { CertflowDefinitions } from './render';

export interface LocalDefinitionOptions {
  maxConcurrency?: number;
  batchConcurrency?: number;
  /** Where cached definitions go. @default `<project>/.certflow-build/definitions` */
  cacheDirectory?: string;
}

function sourceHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...readdirSync(__dirname)
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort()
      .map((f) => join(__dirname, f)),
  ];
  const state = ['state.ts', 'state.js']
    .map((f) => join(__dirname, '..', '..', 'lambdas', 'core', f))
    .filter(existsSync);
  for (const file of [...files, ...state])
    hash.update(file.slice(__dirname.length)).update(readFileSync(file));
  const cdk = require.resolve('aws-cdk-lib/package.json');
  hash.update((JSON.parse(readFileSync(cdk, 'utf8')) as { version: string }).version);
  return hash.digest('hex').slice(0, 24);
}

/** The local definitions (run and batch) for these options: from the cache, or rendered and cached. */
export function localDefinitions(options: LocalDefinitionOptions = {}): CertflowDefinitions {
  const maxConcurrency = options.maxConcurrency ?? 4;
  const batchConcurrency = options.batchConcurrency ?? 1;
  const directory = options.cacheDirectory ?? join(defaultProjectRoot(), '.certflow-build', 'definitions');
  const file = join(directory, `${sourceHash()}-c${maxConcurrency}-b${batchConcurrency}.asl.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CertflowDefinitions;
  } catch {
    // not cached yet
  }
  const { renderLocalDefinitions } = require('./render') as typeof import('./render');
  const definition = renderLocalDefinitions({ maxConcurrency, batchConcurrency });
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(definition)}\n`);
  renameSync(temp, file);
  return definition;
}
