import { join } from 'node:path';
import { LocalFileAlerter } from '../../adapters/alerts/local-alerter';
import type { Alerter } from '../../core/ports';
import { ENV } from '../env';
import { snsClient } from './aws-clients';
import { requireEnv } from './require-env';
import { localStateDirectory, type Wiring } from './types';

/** Alerts: the SNS topic on AWS; `alerts.jsonl` in the local state directory in local mode. */
export const alerterWiring: Wiring<'alerter'> = ({ mode }) => {
  let alerter: Alerter | undefined;
  return () => {
    if (alerter) return alerter;
    if (mode === 'local') {
      alerter = new LocalFileAlerter(join(localStateDirectory(), 'alerts.jsonl'));
    } else {
      const { SnsAlerter } =
        require('../../adapters/alerts/sns-alerter') as typeof import('../../adapters/alerts/sns-alerter');
      alerter = new SnsAlerter({ client: snsClient(), topicArn: requireEnv(ENV.topicArn) });
    }
    return alerter;
  };
};
