import type { TaskStep } from '../core/state';
import type { StepContext } from '../core/steps/context';
import { ENV } from './env';

/**
 * Build the step context from the environment (see {@link ENV}): `CERTFLOW_MODE=local` wires
 * RFC 2136, the local directory store, a local account file and a local alert file; otherwise
 * the AWS adapters (Route 53, Secrets Manager, ACM, SNS). Each side is loaded only when used,
 * so local mode never loads an AWS SDK client.
 */
export function buildContext(step: TaskStep): StepContext {
  if (process.env[ENV.mode] === 'local') {
    const local = require('./local-context') as typeof import('./local-context');
    return local.buildLocalContext(step);
  }
  const aws = require('./aws-context') as typeof import('./aws-context');
  return aws.buildAwsContext(step);
}
