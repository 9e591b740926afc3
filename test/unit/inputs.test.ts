import { InvalidInputError } from '../../lambdas/core/errors';
import { parseCertificateItem, parseFailureInput, parseRunInput } from '../../lambdas/runtime/inputs';

describe('handler inputs', () => {
  it('accepts the documented manual-run input and the scheduled {}', () => {
    expect(parseRunInput({ certificates: ['example'], force: true })).toEqual({
      certificates: ['example'],
      force: true,
    });
    expect(parseRunInput({})).toEqual({});
  });

  it('names the bad field and the fix for a malformed run input', () => {
    expect(() => parseRunInput({ certificates: 'example', forse: true })).toThrow(InvalidInputError);
    expect(() => parseRunInput({ certificates: 'example', forse: true })).toThrow(
      /^run input is malformed \(certificates: .*; \(root\): Unrecognized key: "forse"\); start a run with \{\} or \{"certificates": \["name"\], "force": true, "dryRun": true\}$/,
    );
  });

  it('refuses a certificate state that lacks what earlier states set', () => {
    expect(() => parseCertificateItem({ certificate: 'www' })).toThrow(
      /certificate state is malformed \(runId: .*accountUrl: .*timing: /,
    );
    expect(
      parseFailureInput({ certificate: '(run)', failedStep: 'SelectDue', error: { Error: 'X', Cause: 'y' } }),
    ).toMatchObject({
      certificate: '(run)',
    });
  });
});
