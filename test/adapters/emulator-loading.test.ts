import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PINNED_EMULATOR_VERSION } from '../../local/emulator';

const REPO = join(__dirname, '..', '..');

/**
 * local/emulator.ts defers modules aws-local-stepfunctions requires at load time. That depends on
 * the package's internals, so its version is pinned: this proves, in a plain Node.js process
 * (a test runner's module registry is not Node's), what the pinned version does.
 */
describe('loading the local executor (aws-local-stepfunctions, pinned)', () => {
  const probe = `
    require('./lambdas/runtime/polyfills');
    const { loadEmulator, validateDefinition } = require('./local/emulator');
    const loaded = (re) => Object.keys(require.cache).some((f) => re.test(f));
    const deferred = /node_modules\\/(asl-validator|@aws-sdk\\/client-lambda|@aws-sdk\\/credential-providers)\\//;
    const { StateMachine } = loadEmulator();
    const atLoad = loaded(deferred);
    const definition = {
      StartAt: 'Echo',
      States: { Echo: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:echo', End: true } },
    };
    validateDefinition(definition);
    const validatorAfterValidate = loaded(/node_modules\\/asl-validator\\//);
    const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
    machine
      .run({ n: 41 }, { overrides: { taskResourceLocalHandlers: { Echo: async (input) => ({ n: input.n + 1 }) } } })
      .result.then((output) => {
        process.stdout.write(JSON.stringify({ atLoad, validatorAfterValidate, output }));
      });
  `;

  it('is the pinned version, defers its Lambda client and validator, runs a definition, and loads the validator when used', () => {
    const manifest = join(REPO, 'node_modules', 'aws-local-stepfunctions', 'package.json');
    const installed = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    expect(installed).toBe(PINNED_EMULATOR_VERSION);
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', probe], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ atLoad: false, validatorAfterValidate: true, output: { n: 42 } });
  });
});
