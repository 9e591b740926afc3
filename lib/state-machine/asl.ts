/** A parsed Amazon States Language document. */
export type AslDefinition = { StartAt: string; States: Record<string, AslState> } & Record<string, unknown>;
export type AslState = { Type: string; Resource?: string } & Record<string, unknown>;

/** Every Task state, including those inside Map item processors, as [name, state]. */
export function taskStates(def: AslDefinition): [string, AslState][] {
  return statesOfType(def, 'Task');
}

/** Every state of `type` (`Task`, `Wait`, ...), including those inside Map item processors and Parallel branches. */
export function statesOfType(def: AslDefinition, type: string): [string, AslState][] {
  const out: [string, AslState][] = [];
  const walk = (states: Record<string, AslState>): void => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === type) out.push([name, state]);
      const processor = (state.ItemProcessor ?? state.Iterator) as
        | { States?: Record<string, AslState> }
        | undefined;
      if (processor?.States) walk(processor.States);
      for (const branch of (state.Branches as { States: Record<string, AslState> }[] | undefined) ?? [])
        walk(branch.States);
    }
  };
  walk(def.States);
  return out;
}

/** Placeholder ARN that local mode puts where the stack has the function's ARN. */
export function localFunctionArn(step: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:certflow-${step}`;
}

/** The two definitions certflow deploys: the renewal run and the batch it starts per batch. */
export interface CertflowDefinitions {
  run: AslDefinition;
  batch: AslDefinition;
}

/** Placeholder ARN of the batch state machine in local mode (no CDK needed to know it). */
export const LOCAL_BATCH_STATE_MACHINE_ARN =
  'arn:aws:states:us-east-1:000000000000:stateMachine:certflow-IssueBatch';
