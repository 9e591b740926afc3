import { problemInMessage, withProblem } from '../../lambdas/core/ca-problem';
import { describeFailure } from '../../lambdas/core/steps/failure';

describe('the CA problem carried in an error message', () => {
  const problem = {
    type: 'urn:ietf:params:acme:error:unauthorized',
    detail: 'No TXT record found at _acme-challenge.www.example.test (checked 2 servers)',
    status: 403,
  };

  it('reads back exactly the document written, even when the text before it has parentheses', () => {
    const message = withProblem('the CA marked www.example.test invalid (dns-01): no TXT', problem);
    expect(problemInMessage(message)).toEqual(problem);
  });

  it('finds nothing in a message that carries no document, or a cut one', () => {
    expect(problemInMessage('connect ECONNREFUSED 127.0.0.1:14000 (after 3 attempts)')).toBeUndefined();
    expect(problemInMessage(withProblem('x', problem).slice(0, -5))).toBeUndefined();
  });

  it('reaches the failure record a report and an alert print, through the Lambda error document', () => {
    const errorMessage = withProblem('the CA marked www.example.test invalid: no TXT', problem);
    const failure = describeFailure('www', 'CheckOrder', {
      Error: 'OrderInvalidError',
      Cause: JSON.stringify({ errorType: 'OrderInvalidError', errorMessage, trace: [] }),
    });
    expect(failure).toEqual({
      certificate: 'www',
      step: 'CheckOrder',
      error: 'OrderInvalidError',
      message: errorMessage,
      problem,
    });
  });
});
