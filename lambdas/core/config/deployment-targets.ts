/**
 * Where `certflow validate` checks a configuration can run: the AWS deployment (the rules
 * `cdk synth` runs) or local mode (the checks `certflow local` makes before it starts). Its own module so the CLI can list the choices without loading
 * the schema.
 */
export const DEPLOYMENT_TARGETS = ['aws', 'local'] as const;
export type DeploymentTarget = (typeof DEPLOYMENT_TARGETS)[number];
