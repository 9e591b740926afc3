import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskStep } from '../../lambdas/core/state';
import { ENV } from '../../lambdas/runtime/env';
import { ensureFunctionBundles } from '../../lib/bundling/function-bundles';
import { STEP_SETTINGS } from '../../lib/state-machine/step-settings';
import { hostProcess, LocalFunction } from '../lambda-runtime';
import type { RunPaths } from './records';

/**
 * The functions' environment, set on the host process (the bundles run in the host realm, as a
 * function reads its own process environment); returns what restores the caller's.
 */
export function setLocalEnvironment(paths: RunPaths, configFile: string): () => void {
  const env = {
    configFile,
    stateDirectory: paths.stateDirectory,
    logFile: join(paths.runDirectory, 'handlers.log'),
    metricsFile: join(paths.runDirectory, 'metrics.jsonl'),
  };
  const target = hostProcess().env;
  const keys = [ENV.config, ENV.mode, ENV.configFile, ENV.stateDirectory, ENV.logFile, ENV.metricsFile];
  const saved = Object.fromEntries(keys.map((k) => [k, target[k]]));
  delete target[ENV.config];
  target[ENV.mode] = 'local';
  target[ENV.configFile] = env.configFile;
  target[ENV.stateDirectory] = env.stateDirectory;
  target[ENV.logFile] = env.logFile;
  target[ENV.metricsFile] = env.metricsFile;
  mkdirSync(env.stateDirectory, { recursive: true, mode: 0o700 });
  chmodSync(env.stateDirectory, 0o700);
  // The caller's environment as it was, once the run is over.
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete target[k];
      else target[k] = v;
    }
  };
}

/** The deployed bundles, each loaded afresh (a cold start per run), as Lambda would run them. */
export function loadFunctions(): Record<TaskStep, LocalFunction> {
  const bundles = ensureFunctionBundles();
  return Object.fromEntries(
    Object.values(bundles).map((b) => [b.step, new LocalFunction(b, STEP_SETTINGS[b.step].timeoutSeconds)]),
  ) as Record<TaskStep, LocalFunction>;
}
