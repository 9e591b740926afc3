import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { errorMessage, StackLookupError } from '../../core/errors';
import { errorNameOf } from './retry';

/** A CloudFormation client for the operator CLI. */
export function createCloudFormationClient(region?: string): CloudFormationClient {
  return new CloudFormationClient({ region, maxAttempts: 3 });
}

/**
 * The outputs of a deployed stack (`OutputKey` → `OutputValue`), from CloudFormation
 * DescribeStacks.
 * @throws StackLookupError naming the stack, the error and the fix.
 */
export async function describeStackOutputs(
  client: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string>> {
  let stacks: DescribeStacksCommandOutput;
  try {
    stacks = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    throw new StackLookupError(
      `CloudFormation DescribeStacks for stack "${stackName}" failed: ${errorNameOf(error)}: ${errorMessage(error)}; pass --stack-name for another stack, or --stack-outputs with the file \`cdk deploy --outputs-file\` wrote`,
      { cause: error },
    );
  }
  const stack = stacks.Stacks?.[0];
  if (!stack) throw new StackLookupError(`CloudFormation has no stack "${stackName}"`);
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? []) {
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  }
  return outputs;
}
