/**
 * Node 20 lacks Promise.withResolvers (Node 22), which aws-local-stepfunctions uses.
 * Loaded before any test; bin/certflow.ts loads lambdas/runtime/polyfills.ts the same way.
 */
import '../../lambdas/runtime/polyfills';
