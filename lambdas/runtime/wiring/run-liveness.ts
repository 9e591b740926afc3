import { LocalRunLiveness } from '../../adapters/pending/local-run-liveness';
import type { RunLiveness } from '../../core/ports';
import { sfnClient } from './aws-clients';
import { localStateDirectory, type Wiring } from './types';

/** Whether a run is over: its local process, or its Step Functions execution (DescribeExecution). */
export const runLivenessWiring: Wiring<'runLiveness'> = ({ mode }) => {
  let liveness: RunLiveness | undefined;
  return () => {
    if (liveness) return liveness;
    if (mode === 'local') {
      liveness = new LocalRunLiveness({ stateDirectory: localStateDirectory() });
    } else {
      const { SfnRunLiveness } =
        require('../../adapters/pending/sfn-run-liveness') as typeof import('../../adapters/pending/sfn-run-liveness');
      liveness = new SfnRunLiveness(sfnClient());
    }
    return liveness;
  };
};
