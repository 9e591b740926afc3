import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Certflow } from './certflow';
import type { CertflowProps } from './certflow-props';

/** Props of {@link CertflowStack}: the stack's own props plus the {@link Certflow} construct's. */
export interface CertflowStackProps extends StackProps, CertflowProps {}

/** A stack holding one {@link Certflow} construct (what `npx cdk deploy` deploys from bin/app.ts). */
export class CertflowStack extends Stack {
  readonly certflow: Certflow;

  constructor(scope: Construct, id: string, props: CertflowStackProps) {
    super(scope, id, {
      description: 'certflow: ACME DNS-01 certificate issuance and renewal with CNAME delegation',
      ...props,
    });
    this.certflow = new Certflow(this, 'Certflow', {
      config: props.config,
      logRetention: props.logRetention,
      projectRoot: props.projectRoot,
      secretNamePrefix: props.secretNamePrefix,
      removalPolicy: props.removalPolicy,
      sourceMapsAtRuntime: props.sourceMapsAtRuntime,
    });
    // One Certflow per stack, so its outputs can have stable keys (`StateMachineArn`, ...) that
    // scripts and docs/deploy.md can rely on.
    for (const child of this.certflow.node.children) {
      if (child instanceof CfnOutput) child.overrideLogicalId(child.node.id);
    }
  }
}
