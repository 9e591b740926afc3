import type { CertificateItem } from '../core/state';
import { answerChallenges } from '../core/steps/answer-challenges';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';

/** Task state `AnswerChallenges`: see {@link answerChallenges}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof answerChallenges>>>(
  'AnswerChallenges',
  parseCertificateItem,
  answerChallenges,
);
