/** The tags certflow puts on the certificates it imports into ACM (no SDK import: lib/iam.ts reads them). */
import { DEPLOYMENT_TAG } from '../../aws/deployment-tag';

/** Tag that marks the ACM certificate holding a certflow certificate. */
export const ACM_CERTIFICATE_TAG = 'certflow:certificate';
/** Tag holding the RFC 9773 CertID, which ACM does not report. */
export const ACM_ARI_TAG = 'certflow:ariCertId';
/**
 * Tag naming the deployment that imported the certificate (its secret name prefix): the IAM
 * condition of every write (`aws:RequestTag/…` on the first import, `aws:ResourceTag/…` after).
 */
export const ACM_DEPLOYMENT_TAG = DEPLOYMENT_TAG;
/** Every tag key the ACM store writes: what a new import may carry (IAM `aws:TagKeys`). */
export const ACM_TAG_KEYS = [ACM_CERTIFICATE_TAG, ACM_DEPLOYMENT_TAG, ACM_ARI_TAG] as const;
