/**
 * The tag that names the deployment a resource belongs to: its value is the deployment's secret
 * name prefix. The secrets KMS key carries it (the stack sets it), and so does every certificate
 * certflow imports into ACM (the ACM store sets it on the first import). The stack's IAM policies
 * grant by it (`aws:ResourceTag/certflow:deployment`, `aws:RequestTag/certflow:deployment`), so a
 * key kept from an earlier deployment stays usable by the next one with the same prefix, and two
 * deployments with different prefixes reach neither each other's keys nor certificates.
 * No SDK import: the CDK app reads it too.
 */
export const DEPLOYMENT_TAG = 'certflow:deployment';
