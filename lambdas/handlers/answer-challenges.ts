import type { CertificateItem } from '../core/state';
import { answerChallenges } from '../core/steps/answer-challenges';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';

/** Task state `AnswerChallenges`: see {@link answerChallenges}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof answerChallenges>>>({
  step: 'AnswerChallenges',
  parse: parseCertificateItem,
  run: answerChallenges,
  wiring: { accounts: accountsWiring },
});
