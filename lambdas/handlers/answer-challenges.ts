import type { CertificateItem } from '../core/state';
import { answerChallenges } from '../core/steps/answer-challenges';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = { accounts: accountsWiring };

/** Task state `AnswerChallenges`: see {@link answerChallenges}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof answerChallenges>>>({
  step: 'AnswerChallenges',
  parse: parseCertificateItem,
  run: answerChallenges,
  wiring,
});
