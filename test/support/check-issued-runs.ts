/**
 * Every local run a test makes in this process (`runLocal`, directly or through the CLI and the
 * fault harness) is followed by {@link checkIssuedCertificates}: a run that exits 0 must have
 * stored, for each certificate it reports ISSUED, a certificate that verifies against the CA's
 * root and matches its key. A run that breaks that promise fails the test that made it.
 */
import { checkIssuedCertificates } from './issued-check';

jest.mock('../../local/run-local', () => {
  const actual = jest.requireActual('../../local/run-local') as typeof import('../../local/run-local');
  return {
    ...actual,
    runLocal: async (...args: Parameters<typeof actual.runLocal>) => {
      const result = await actual.runLocal(...args);
      await checkIssuedCertificates(result);
      return result;
    },
  };
});
