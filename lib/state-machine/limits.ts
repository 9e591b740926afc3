/** Step Functions' per-execution limits and budgets (shared with the functions: lambdas/core). */
export * from '../../lambdas/core/execution-limits';
