import type { CertflowConfig } from '../../core/config/schema';
import type { StepContext } from '../../core/steps/context';
import { ENV } from '../env';

/** The capabilities a step may need from outside (adapters behind ports); see {@link StepContext}. */
export type Capability =
  | 'accounts'
  | 'eab'
  | 'dnsProvider'
  | 'stores'
  | 'alerter'
  | 'pendingRecords'
  | 'runLiveness'
  | 'pendingKeys'
  | 'orderBudget'
  | 'expiryAlarms'
  | 'rejectedCertificates';

/** Where a function runs: `local` (local mode, the CLI) or `aws` (Lambda, the default). */
export type RuntimeMode = 'local' | 'aws';

/** What a wiring reads to build its adapter. */
export interface WiringEnvironment {
  config: CertflowConfig;
  mode: RuntimeMode;
}

/**
 * Builds one capability for a step's context, once per cold start. Each capability has its own
 * module (lambdas/runtime/wiring/), and each handler imports only the wirings its step uses, so
 * a function's bundle carries only its step's adapters.
 */
export type Wiring<K extends Capability> = (env: WiringEnvironment) => StepContext[K];

/** The runtime mode from the environment (`CERTFLOW_MODE=local`, else `aws`). */
export function runtimeMode(): RuntimeMode {
  return process.env[ENV.mode] === 'local' ? 'local' : 'aws';
}

/** The local state directory (account keys, alerts) in local mode. */
export function localStateDirectory(): string {
  return process.env[ENV.stateDirectory] ?? '.certflow-local/state';
}
