import type { ExpiryAlarms } from '../../core/ports';
import { ENV } from '../env';
import { cloudWatchClient, functionRegion } from './aws-clients';
import { requireEnv } from './require-env';
import type { Wiring } from './types';

/** Local mode keeps certificates in a directory: no store reports expiry itself. */
const none: ExpiryAlarms = { ensure: async () => [] };

/**
 * Alarms on ACM's DaysToExpiry (AWS), notifying the alerts topic; nothing in local mode. The
 * adapter module (and the CloudWatch SDK) is loaded on first use.
 */
export const expiryAlarmsWiring: Wiring<'expiryAlarms'> = ({ mode }) => {
  let made: ExpiryAlarms | undefined;
  return () => {
    if (mode === 'local') return none;
    if (!made) {
      const { AcmExpiryAlarms } =
        require('../../adapters/alarms/acm-expiry-alarms') as typeof import('../../adapters/alarms/acm-expiry-alarms');
      made = new AcmExpiryAlarms({
        client: cloudWatchClient(),
        region: functionRegion() ?? 'us-east-1',
        topicArn: requireEnv(ENV.topicArn),
        namePrefix: requireEnv(ENV.alarmNamePrefix),
      });
    }
    return made;
  };
};
