import { statSync } from 'node:fs';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { HANDLER_ENTRIES } from '../../lambdas/runtime/env';
import { ensureFunctionBundles } from '../../lib/bundling/function-bundles';

/**
 * What each deployed function carries, from esbuild's metafile of the very bundles CDK uploads
 * (lib/bundling/function-bundles.ts): a size ceiling, and for every step the modules it may
 * contain. A module outside its step's list fails the test with the module's path: either the
 * step really needs it (add it to the step's list below, with the reason), or an import pulled
 * it in by accident (a cold start pays to read and compile every byte).
 */

/** The ceiling with the AWS SDK clients inside (the largest, SelectDue, is ~590 KB; see README). */
const MAX_BUNDLE_BYTES = 600 * 1024;

/** Groups of modules, by what they are for. Paths as esbuild's metafile names them. */
const GROUP = {
  /** The runtime every function has: handler shell, config (zod/mini), logging, base DNS client. */
  common: [
    /^lambdas\/runtime\/(handler|base-context|env|inputs)\.ts$/,
    /^lambdas\/runtime\/wiring\/(types|require-env|aws-clients)\.ts$/,
    /^lambdas\/core\/(errors|logger|ports|zod-messages|state|metrics|ca-problem)\.ts$/,
    // The invocation's deadline and abort signal, which network clients read.
    /^lambdas\/core\/invocation-limits\.ts$/,
    // The config, and the bounded reader of the files it names (TSIG key, CA bundle).
    /^lambdas\/core\/config\/(load|loose|schema|compact|files)\.ts$/,
    // Logs and metrics (Powertools, EMF) behind the core's Logger and Metrics ports.
    /^lambdas\/runtime\/observability\.ts$/,
    /^node_modules\/@aws-lambda-powertools\/(commons|logger|metrics)\//,
    /^node_modules\/@aws\/lambda-invoke-store\//,
    /^lambdas\/core\/steps\/context\.ts$/,
    // The base context's resolver and authoritative-server lookup (built lazily, on first use):
    // the DNS client port, its messages, and the UDP/TCP transport adapter.
    /^lambdas\/core\/dns\/(names|dns-client|message|propagation)\.ts$/,
    /^lambdas\/adapters\/dns\/transport\/(udp-dns-client|exchange)\.ts$/,
    /^node_modules\/(dns-packet|@leichtgewicht\/ip-codec)\//,
    // The per-function SDK client cache and its factories (each client only where a step makes one).
    /^lambdas\/adapters\/aws\/(clients|retry|deployment-tag)\.ts$/,
    /^lambdas\/adapters\/dns\/route53\/client\.ts$/,
    // The AWS SDK v3, bundled: its core, and its default credential chain as Lambda needs it.
    /^node_modules\/@aws-sdk\/(core|middleware-[a-z-]+|util-[a-z-]+|region-config-resolver|signature-v4-multi-region|xml-builder)\//,
    /^node_modules\/@smithy\//,
    /^node_modules\/(tslib|@aws-crypto|fast-xml-parser|strnum|bowser|mnemonist|obliterator|@nodable)\//,
    /^lambdas\/runtime\/lambda-credentials\.ts$/,
    /^node_modules\/zod\/v4\/(core|mini)\//,
    /^node_modules\/zod\/(mini|locales)\/index\.js$/,
    /^node_modules\/zod\/v4\/locales\/(index|en)\.js$/,
  ],
  /** certflow's ACME client (RFC 8555) and the account it signs with. */
  acme: [
    /^lambdas\/core\/acme\//,
    // The ACME transport adapter (node:https) behind core's port.
    /^lambdas\/adapters\/acme\/transport\/node-https\.ts$/,
    /^lambdas\/adapters\/account\//,
    /^lambdas\/adapters\/aws\/secret-names\.ts$/,
    /^lambdas\/runtime\/wiring\/(accounts|runtime-secrets)\.ts$/,
    // The account key's secret (Secrets Manager).
    /^node_modules\/@aws-sdk\/client-secrets-manager\//,
  ],
  eab: [/^lambdas\/runtime\/wiring\/eab\.ts$/],
  /** X.509 and ASN.1: reading certificates, building CSRs. */
  x509: [/^lambdas\/core\/certificate\//, /^node_modules\/(asn1js|pvtsutils|pvutils)\//],
  /** Writing TXT records: RFC 2136 and Route 53 providers (not the Route 53 client factory above). */
  dnsUpdate: [
    /^lambdas\/adapters\/dns\/(rfc2136\/|route53\/(?!client\.ts$))/,
    /^lambdas\/runtime\/wiring\/dns-provider\.ts$/,
    // Route 53 calls paced within the account's request rate.
    /^lambdas\/core\/renewal\/request-pacing\.ts$/,
    /^node_modules\/@aws-sdk\/(client-route-53|middleware-sdk-route53)\//,
  ],
  /** The owned-TXT-values record and run liveness. */
  pending: [
    /^lambdas\/adapters\/pending\//,
    /^lambdas\/adapters\/local-temp-files\.ts$/,
    /^lambdas\/runtime\/wiring\/(pending-records|run-liveness)\.ts$/,
    // The record (DynamoDB) and whether its writer's execution still runs (Step Functions).
    /^node_modules\/@aws-sdk\/(client-dynamodb|dynamodb-codec|endpoint-cache|client-sfn)\//,
  ],
  stores: [
    /^lambdas\/adapters\/store\//,
    /^lambdas\/runtime\/wiring\/(stores|runtime-secrets)\.ts$/,
    /^lambdas\/adapters\/aws\/secret-names\.ts$/,
    /^node_modules\/@aws-sdk\/(client-secrets-manager|client-acm)\//,
  ],
  /** The new-order budget (the CA's rate limit, kept on our side) and the batch sizes. */
  orderBudget: [
    /^lambdas\/adapters\/order-budget\//,
    // The lock's owner and the temporary files of dead writers (local mode).
    /^lambdas\/adapters\/local-temp-files\.ts$/,
    /^lambdas\/adapters\/pending\/local-run-liveness\.ts$/,
    /^lambdas\/runtime\/wiring\/order-budget\.ts$/,
    /^lambdas\/core\/renewal\/order-budget\.ts$/,
    /^lambdas\/core\/execution-limits\.ts$/,
    /^node_modules\/@aws-sdk\/(client-dynamodb|dynamodb-codec|endpoint-cache)\//,
  ],
  /** The alarm on ACM's own DaysToExpiry, put after an import. */
  alarms: [
    /^lambdas\/adapters\/alarms\//,
    /^lambdas\/runtime\/wiring\/expiry-alarms\.ts$/,
    /^node_modules\/@aws-sdk\/client-cloudwatch\//,
  ],
  pendingKeys: [
    /^lambdas\/adapters\/pending-key\//,
    /^lambdas\/runtime\/wiring\/pending-keys\.ts$/,
    /^node_modules\/@aws-sdk\/client-secrets-manager\//,
  ],
  alerts: [
    /^lambdas\/adapters\/alerts\//,
    /^lambdas\/runtime\/wiring\/alerter\.ts$/,
    /^node_modules\/@aws-sdk\/client-sns\//,
  ],
  delegation: [/^lambdas\/core\/dns\/delegation\.ts$/],
  renewal: [/^lambdas\/core\/renewal\//],
} satisfies Record<string, RegExp[]>;
type Group = keyof typeof GROUP;

const step = (...files: string[]): RegExp[] =>
  files.map((f) => new RegExp(`^lambdas/core/steps/${f.replace('.', '\\.')}\\.ts$`));

/** What each step's function may carry besides its own handler and {@link GROUP.common}. */
const ALLOWED: Record<TaskStep, { groups: Group[]; steps: RegExp[] }> = {
  // Stores to read, ACME for the CA's renewal information (RFC 9773), X.509 to read certificates.
  // The new-order budget, and the batch size from the per-certificate event budget.
  SelectDue: {
    groups: ['renewal', 'stores', 'x509', 'acme', 'eab', 'orderBudget'],
    steps: step('select-due'),
  },
  // Follows the _acme-challenge CNAMEs, then places the order; records a CA's rateLimited block.
  CreateOrder: { groups: ['acme', 'delegation', 'orderBudget'], steps: step('create-order') },
  PublishRecords: { groups: ['dnsUpdate', 'pending'], steps: step('publish-records') },
  // The provider's own "applied" signal (Route 53 GetChange), then DNS queries.
  CheckPropagation: { groups: ['dnsUpdate'], steps: step('check-propagation') },
  AnswerChallenges: { groups: ['acme'], steps: step('answer-challenges') },
  CheckOrder: { groups: ['acme'], steps: step('check-order') },
  FinalizeAndStore: {
    groups: ['acme', 'x509', 'stores', 'pendingKeys', 'alarms'],
    steps: step('finalize-and-store'),
  },
  // Cleanup, CleanupAfterFailure and SweepLeftovers.
  Cleanup: { groups: ['dnsUpdate', 'pending'], steps: step('cleanup') },
  RecordFailure: { groups: ['alerts'], steps: step('record-failure', 'failure', 'cleanup') },
  // Reads the stores (and the local store's certificate files: X.509) of a batch that failed as a whole.
  Summarize: {
    groups: ['alerts', 'stores', 'x509'],
    steps: step('summarize', 'record-failure', 'failure', 'cleanup'),
  },
};

/** Never in any function: build, CLI and emulator code, X.509 toolkits, zod's chained API. */
const NOWHERE: [RegExp, string][] = [
  [/^node_modules\/@peculiar\//, '@peculiar/* (X.509 toolkit: local Pebble TLS only)'],
  [/^node_modules\/(aws-cdk-lib|constructs)\//, 'the CDK'],
  [/^node_modules\/(aws-local-stepfunctions|asl-validator|ajv)\//, 'the local emulator'],
  [/^node_modules\/commander\//, 'the CLI parser'],
  [/^node_modules\/(esbuild|typescript|tsx)\//, 'build tooling'],
  [
    /^node_modules\/@aws-sdk\/(credential-provider-(?!env)[a-z-]+|nested-clients|token-providers)\//,
    "the SDK's credential sources other than Lambda's environment variables (lambdas/runtime/lambda-credentials.ts)",
  ],
  [/^node_modules\/(acme-client|axios|node-forge)\//, 'replaced libraries'],
  [/^node_modules\/zod\/v4\/classic\//, "zod's chained API (zod/mini carries the same checks)"],
  [/^node_modules\/zod\/v4\/locales\/(?!(index|en)\.js$)/, "zod's other locales"],
  [/^(lib|bin|scripts|test)\//, 'infrastructure, CLI, scripts or tests'],
];

const OWN_HANDLER = (s: TaskStep): RegExp => new RegExp(`^${HANDLER_ENTRIES[s].replace('.', '\\.')}$`);

/** The inputs of one step's bundle that its rules do not allow. */
function unneeded(s: TaskStep, inputs: string[]): string[] {
  const allowed = [
    OWN_HANDLER(s),
    ...GROUP.common,
    ...ALLOWED[s].steps,
    ...ALLOWED[s].groups.flatMap((g) => GROUP[g]),
  ];
  return inputs.filter((path) => !allowed.some((re) => re.test(path)));
}

function forbidden(inputs: string[]): string[] {
  return inputs.flatMap((path) =>
    NOWHERE.filter(([re]) => re.test(path)).map(([, why]) => `${path}: ${why}`),
  );
}

const inGroup = (path: string, group: Group): boolean => GROUP[group].some((re) => re.test(path));

describe('what each function bundle carries (esbuild metafile of the deployed bundles)', () => {
  const bundles = ensureFunctionBundles();
  // esbuild names a package through a symlinked node_modules (a git worktree's) by its real path
  // (`../../main/node_modules/...`); the rules name it `node_modules/...`.
  const inputsOf = (s: TaskStep): string[] =>
    Object.keys(bundles[s].inputs).map((p) =>
      p.replace(/^(?:\.\.\/)+(?:[^/]+\/)*?node_modules\//, 'node_modules/'),
    );

  it(`every bundle is at most ${MAX_BUNDLE_BYTES / 1024} KB`, () => {
    const sizes = Object.fromEntries(TASK_STEPS.map((s) => [s, statSync(bundles[s].file).size]));
    for (const s of TASK_STEPS) expect(bundles[s].bytes).toBe(sizes[s]);
    expect(Object.entries(sizes).filter(([, bytes]) => bytes > MAX_BUNDLE_BYTES)).toEqual([]);
  });

  it('each bundle holds its own handler and no other', () => {
    for (const s of TASK_STEPS) {
      const handlers = inputsOf(s).filter((p) => p.startsWith('lambdas/handlers/'));
      expect({ step: s, handlers }).toEqual({ step: s, handlers: [HANDLER_ENTRIES[s]] });
    }
  });

  it("no bundle carries the CDK, the CLI, the emulator, an X.509 toolkit, the SDK's non-Lambda credential sources or zod classic", () => {
    expect(TASK_STEPS.flatMap((s) => forbidden(inputsOf(s)).map((f) => `${s}: ${f}`))).toEqual([]);
  });

  it('each bundle carries only the modules its step uses', () => {
    expect(TASK_STEPS.flatMap((s) => unneeded(s, inputsOf(s)).map((p) => `${s}: ${p}`))).toEqual([]);
  });

  it('no ACME client or ASN.1 code in Cleanup, PublishRecords, CheckPropagation, RecordFailure; no ACME client in Summarize', () => {
    const steps: TaskStep[] = ['Cleanup', 'PublishRecords', 'CheckPropagation', 'RecordFailure'];
    const found = steps.flatMap((s) =>
      inputsOf(s)
        .filter((p) => inGroup(p, 'acme') || inGroup(p, 'x509'))
        .map((p) => `${s}: ${p}`),
    );
    expect(found).toEqual([]);
    // Summarize reads stores (X.509 for the local store), never the CA.
    expect(inputsOf('Summarize').filter((p) => /^lambdas\/(core\/acme|adapters\/account)\//.test(p))).toEqual(
      [],
    );
  });

  it('no DNS update code outside PublishRecords, CheckPropagation and Cleanup', () => {
    const steps = TASK_STEPS.filter((s) => !['PublishRecords', 'CheckPropagation', 'Cleanup'].includes(s));
    const found = steps.flatMap((s) =>
      inputsOf(s)
        .filter((p) => inGroup(p, 'dnsUpdate'))
        .map((p) => `${s}: ${p}`),
    );
    expect(found).toEqual([]);
  });

  it('the rules see what they are for: each group is in the steps that use it', () => {
    // A rule that matched nothing would pass vacuously; these are the modules each step must hold.
    const expected: [TaskStep, Group][] = [
      ['CreateOrder', 'acme'],
      ['CreateOrder', 'delegation'],
      ['FinalizeAndStore', 'x509'],
      ['FinalizeAndStore', 'stores'],
      ['FinalizeAndStore', 'pendingKeys'],
      ['PublishRecords', 'dnsUpdate'],
      ['Cleanup', 'pending'],
      ['Summarize', 'alerts'],
      ['SelectDue', 'renewal'],
    ];
    for (const [s, g] of expected)
      expect({ s, g, has: inputsOf(s).some((p) => inGroup(p, g)) }).toEqual({ s, g, has: true });
  });

  it('flags a module a step does not need, and one no function may carry', () => {
    const cleanup = [
      'lambdas/handlers/cleanup.ts',
      'lambdas/core/steps/cleanup.ts',
      'lambdas/adapters/dns/rfc2136/update.ts',
      'lambdas/core/acme/jws.ts',
      'node_modules/asn1js/build/index.es.js',
    ];
    expect(unneeded('Cleanup', cleanup)).toEqual([
      'lambdas/core/acme/jws.ts',
      'node_modules/asn1js/build/index.es.js',
    ]);
    const order = [
      'lambdas/handlers/create-order.ts',
      'lambdas/core/acme/api.ts',
      'lambdas/adapters/dns/rfc2136/update.ts',
    ];
    expect(unneeded('CreateOrder', order)).toEqual(['lambdas/adapters/dns/rfc2136/update.ts']);
    expect(unneeded('Summarize', ['lambdas/handlers/cleanup.ts'])).toEqual(['lambdas/handlers/cleanup.ts']);
    expect(
      forbidden([
        'node_modules/@peculiar/x509/build/x509.cjs.js',
        'node_modules/zod/v4/classic/schemas.js',
        'node_modules/zod/v4/locales/de.js',
        'node_modules/zod/v4/locales/en.js',
      ]),
    ).toEqual([
      'node_modules/@peculiar/x509/build/x509.cjs.js: @peculiar/* (X.509 toolkit: local Pebble TLS only)',
      "node_modules/zod/v4/classic/schemas.js: zod's chained API (zod/mini carries the same checks)",
      "node_modules/zod/v4/locales/de.js: zod's other locales",
    ]);
  });
});
