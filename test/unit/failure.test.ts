import { describeFailure } from '../../lambdas/core/steps/failure';

describe('failure records', () => {
  it('reads the Lambda error document and extracts the CA problem', () => {
    const problem = { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'Incorrect TXT record' };
    const cause = JSON.stringify({
      errorType: 'OrderInvalidError',
      errorMessage: `the CA marked www.example.test invalid: Incorrect TXT record (CA problem: ${JSON.stringify(problem)})`,
      trace: ['at x'],
    });
    expect(describeFailure('www', 'CheckOrder', { Error: 'OrderInvalidError', Cause: cause })).toEqual({
      certificate: 'www',
      step: 'CheckOrder',
      error: 'OrderInvalidError',
      message: `the CA marked www.example.test invalid: Incorrect TXT record (CA problem: ${JSON.stringify(problem)})`,
      problem,
    });
  });

  it('keeps plain-text causes from States.* errors', () => {
    expect(describeFailure('a', 'CheckOrder', { Error: 'States.Timeout', Cause: 'Task timed out' })).toEqual({
      certificate: 'a',
      step: 'CheckOrder',
      error: 'States.Timeout',
      message: 'Task timed out',
    });
  });
});
