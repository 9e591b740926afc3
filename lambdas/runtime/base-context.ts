import { systemResolver, UdpDnsClient } from '../adapters/dns/transport/udp-dns-client';
import { loadConfigFile, parseConfig } from '../core/config/load';
import type { CertflowConfig } from '../core/config/schema';
import { type DnsClient, parseServerAddress } from '../core/dns/dns-client';
import { discoverAuthoritativeServers } from '../core/dns/propagation';
import { ConfigError } from '../core/errors';
import type { ServerAddress } from '../core/ports';
import type { StepContext } from '../core/steps/context';
import { ENV } from './env';

/** Read the configuration from CERTFLOW_CONFIG_FILE (a file: the stack ships it in a layer) or CERTFLOW_CONFIG (JSON). */
export function configFromEnvironment(): CertflowConfig {
  const file = process.env[ENV.configFile];
  if (file) return loadConfigFile(file);
  const json = process.env[ENV.config];
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (cause) {
      throw new ConfigError(
        [{ path: '', message: `${ENV.config} is not JSON: ${(cause as Error).message}` }],
        ENV.config,
      );
    }
    return parseConfig(parsed, ENV.config);
  }
  throw new ConfigError(
    [{ path: '', message: `set ${ENV.configFile} (path) or ${ENV.config} (JSON)` }],
    'environment',
  );
}

/** Memoize a zero-argument factory. */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}

/** The parts of a step's context that every step has, wherever it runs. */
export type BaseContext = Pick<
  StepContext,
  'config' | 'now' | 'random' | 'dnsClient' | 'resolver' | 'authoritativeServers'
>;

/** The parts of the context that do not depend on where it runs, or on the step. */
export function baseContext(config: CertflowConfig): BaseContext {
  const dnsClient = lazy<DnsClient>(() => new UdpDnsClient());
  const resolver = lazy<ServerAddress>(() =>
    config.delegation.resolver ? parseServerAddress(config.delegation.resolver) : systemResolver(),
  );
  let servers: Promise<ServerAddress[]> | undefined;
  return {
    config,
    now: () => new Date(),
    random: Math.random,
    dnsClient,
    resolver,
    authoritativeServers: () => {
      servers ??= config.delegation.nameservers
        ? Promise.resolve(config.delegation.nameservers.map((s) => parseServerAddress(s)))
        : discoverAuthoritativeServers(config.delegation.zone, resolver(), dnsClient());
      return servers;
    },
  };
}
