import { readFileSync } from 'node:fs';
import { deploymentProblems } from '../../lambdas/core/config/deployment';
import { parseConfig } from '../../lambdas/core/config/load';
import { AWS_LIMITS, scaledConfig, type TemplateStats, templateStats } from '../../lib/template-stats';
import { EXAMPLE_CONFIG_FILE, synth } from './synth';

/**
 * A thousand certificates in one deployment: the synthesized stack stays within CloudFormation's,
 * IAM's and Lambda's limits, and what grows with the count does not (the configuration is in the
 * layer, secrets are granted by prefix, alarms beyond the first few are aggregate).
 */
describe('one deployment, 10 to 1,000 certificates', () => {
  const example = JSON.parse(readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
  const stats = new Map<number, TemplateStats>();
  beforeAll(() => {
    for (const count of [10, 100, 1000]) {
      const raw = scaledConfig(example, count);
      const config = parseConfig(raw, `${count} certificates`);
      expect(deploymentProblems(config)).toEqual([]);
      stats.set(count, templateStats(synth(config).json));
    }
  });

  it('1,000 certificates synthesize within every limit', () => {
    const s = stats.get(1000) as TemplateStats;
    expect(s.resources).toBeLessThan(AWS_LIMITS.resources);
    expect(s.templateBytes).toBeLessThan(AWS_LIMITS.templateBytes);
    expect(s.largestRolePolicy.chars).toBeLessThan(AWS_LIMITS.rolePolicyChars);
    expect(s.largestEnvironment.bytes).toBeLessThan(AWS_LIMITS.environmentBytes);
  });

  it('resources, policies and environments stop growing once the per-certificate alarms are all there', () => {
    const ten = stats.get(10) as TemplateStats;
    const hundred = stats.get(100) as TemplateStats;
    const thousand = stats.get(1000) as TemplateStats;
    // 10 -> 100: the first 25 certificates get an expiry alarm of their own (one resource each)
    expect(hundred.resources - ten.resources).toBe(25 - 10);
    // 100 -> 1,000: nothing grows (the CNAMEs past 100 are listed by `certflow plan`, not outputs)
    expect(thousand.resources).toBe(hundred.resources);
    expect(thousand.largestRolePolicy.chars).toBe(ten.largestRolePolicy.chars);
    expect(thousand.largestEnvironment.bytes).toBe(ten.largestEnvironment.bytes);
    expect(Math.abs(thousand.templateBytes - hundred.templateBytes)).toBeLessThan(12_000);
  });
});
