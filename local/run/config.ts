import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertRuntimeConfigUsable } from '../../cli/config-checks';
import { parseConfig } from '../../lambdas/core/config/load';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { ConfigError } from '../../lambdas/core/errors';
import { DEMO } from '../demo';
import { hostProcess } from '../lambda-runtime';
import type { PebbleServer } from '../pebble';
import type { StartedServers } from './servers';

/** The run's configuration, validated, and as written (the run directory's `config.json`). */
export interface RunConfig {
  config: CertflowConfig;
  raw: unknown;
}

/** `--external`: the config file as it is, its servers used (nothing started). */
export function externalConfig(configFile: string | undefined, out: (line: string) => void): RunConfig {
  if (!configFile) throw new ConfigError([{ path: '', message: '--external needs --config <file>' }]);
  const raw = readJson(configFile);
  const config = parseConfig(raw, configFile);
  // What `certflow validate` checks (TSIG key file, store path), before any order is placed.
  assertRuntimeConfigUsable(config, configFile, hostProcess().env);
  out(`certflow local: using the servers in ${configFile} (nothing started)`);
  return { config, raw };
}

/** The demo's certificates, or the config file's, pointed at the bundled servers. */
export function bundledServersConfig(args: {
  configFile: string | undefined;
  workdir: string;
  servers: StartedServers;
}): RunConfig {
  const { configFile, workdir, servers } = args;
  const raw = bundledConfig({
    configFile,
    workdir,
    dns: servers.dns,
    tsigFile: servers.tsigFile,
    pebble: servers.pebble,
  });
  const source = configFile ? `${configFile} (with the bundled Pebble and BIND)` : 'the bundled demo';
  const config = parseConfig(raw, source);
  assertRuntimeConfigUsable(config, source, hostProcess().env);
  return { config, raw };
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(
      [{ path: '', message: `cannot read ${file} as JSON: ${(cause as Error).message}` }],
      file,
    );
  }
}

/**
 * The config for the bundled servers: the demo certificates, or the user's, with the ACME,
 * DNS and delegation sections pointed at the local Pebble and BIND.
 */
function bundledConfig(args: {
  configFile: string | undefined;
  workdir: string;
  dns: string;
  tsigFile: string;
  pebble: PebbleServer;
}): Record<string, unknown> {
  const { configFile, workdir, dns, tsigFile, pebble } = args;
  const user = configFile ? readJson(configFile) : {};
  const certificates =
    (user.certificates as { stores?: unknown }[] | undefined)?.map((c) => ({ ...c, stores: ['local'] })) ??
    DEMO.certificates;
  const raw = {
    acme: {
      directory: pebble.directoryUrl,
      email: DEMO.email,
      termsOfServiceAgreed: true,
      caBundleFile: pebble.caBundleFile,
    },
    delegation: { zone: DEMO.delegatedZone, domains: [DEMO.primaryZone], nameservers: [dns], resolver: dns },
    dns: {
      provider: 'rfc2136',
      server: dns,
      tsig: { name: DEMO.tsigKeyName, algorithm: 'hmac-sha256', secretFile: tsigFile },
    },
    renewal: user.renewal,
    timing: {
      propagationIntervalSeconds: 1,
      propagationMaxChecks: 30,
      orderIntervalSeconds: 1,
      orderMaxChecks: 60,
    },
    storage: { localDirectory: join(workdir, 'certs'), defaultStores: ['local'] },
    certificates,
  };
  return raw;
}
