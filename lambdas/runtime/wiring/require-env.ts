import { ConfigError } from '../../core/errors';

/** A required environment variable, or a {@link ConfigError} naming it. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new ConfigError(
      [
        {
          path: name,
          message: `environment variable ${name} is not set; the certflow stack sets it on the function that needs it`,
        },
      ],
      'environment',
    );
  }
  return value;
}
