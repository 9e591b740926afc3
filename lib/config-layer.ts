import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the functions find the configuration: layers are extracted under `/opt`. */
export const LAYER_CONFIG_PATH = '/opt/certflow/config.json';

/**
 * A directory holding `certflow/config.json` with this configuration, for the config layer's
 * asset (under `<projectRoot>/.certflow-build/config/<hash>/`; the same configuration reuses it).
 */
export function configLayerDirectory(configJson: string, projectRoot: string): string {
  const hash = createHash('sha256').update(configJson).digest('hex').slice(0, 16);
  const directory = join(projectRoot, '.certflow-build', 'config', hash);
  const staging = `${directory}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'certflow'), { recursive: true });
  writeFileSync(join(staging, 'certflow', 'config.json'), `${configJson}\n`);
  rmSync(directory, { recursive: true, force: true });
  renameSync(staging, directory);
  return directory;
}
