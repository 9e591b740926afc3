/** Shared helpers for the CDK tests: synthesize a {@link CertflowStack} without bundling. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Aspects, type CfnElement, type IAspect } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { loadConfigFile, parseConfig } from '../../lambdas/core/config/load';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { CertflowStack, type CertflowStackProps } from '../../lib/certflow-stack';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const EXAMPLE_CONFIG_FILE = path.join(REPO_ROOT, 'certflow.config.example.json');
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

/** The context `cdk synth` passes from cdk.json, so tests see what a deploy would. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export function exampleConfig(): CertflowConfig {
  return loadConfigFile(EXAMPLE_CONFIG_FILE);
}

/** The example file with `patch` applied to the raw JSON, validated. */
export function patchedConfig(patch: (raw: Record<string, unknown>) => void): CertflowConfig {
  const raw = JSON.parse(readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
  patch(raw);
  return parseConfig(raw, 'patched example');
}

export interface Synthesized {
  stack: CertflowStack;
  template: Template;
  /** The template as plain JSON. */
  json: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> } & Record<
    string,
    unknown
  >;
  /** Logical id of a construct's CloudFormation resource. */
  id: (construct: IConstruct) => string;
}

/**
 * Synthesize once, without bundling the functions (`aws:cdk:bundling-stacks: []`: assets are
 * placeholders), with cdk.json's context.
 */
export function synth(
  config: CertflowConfig,
  props: Partial<CertflowStackProps> = {},
  aspects: IAspect[] = [],
): Synthesized {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new CertflowStack(app, 'CertflowTest', {
    config,
    env: { account: ACCOUNT, region: REGION },
    ...props,
  });
  for (const aspect of aspects) Aspects.of(stack).add(aspect);
  const template = Template.fromStack(stack);
  const id = (construct: IConstruct): string => {
    const child = construct.node.defaultChild ?? construct;
    return stack.getLogicalId(child as CfnElement);
  };
  return { stack, template, json: template.toJSON() as Synthesized['json'], id };
}
