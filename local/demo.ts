/** The bundled local setup: a primary zone with `_acme-challenge` CNAMEs into a delegated zone. */
export const DEMO = {
  primaryZone: 'example.test',
  delegatedZone: 'acme.certflow.test',
  tsigKeyName: 'certflow-local',
  email: 'hostmaster@example.test',
  /** Names whose `_acme-challenge` CNAME the bundled primary zone holds. */
  delegatedNames: ['example.test', 'www.example.test'],
  certificates: [
    { name: 'example-test', domains: ['example.test', '*.example.test'] },
    { name: 'www-example-test', domains: ['www.example.test'] },
  ],
  /** Preferred loopback ports; free ones are picked when these are taken. */
  ports: { acme: 14000, acmeManagement: 15000, dns: 15353 },
} as const;
