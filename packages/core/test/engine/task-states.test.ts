import {
  definitionPlaceholders,
  lambdaFunctions,
  stageStateMachineDefinition,
  stateNames,
  taskStateNames,
  taskStateTable,
} from '@stagehooks/core/engine';
import { describe, expect, it } from 'vitest';

type State = { Type: string; Resource?: string; Parameters?: Record<string, unknown> };
const states = stageStateMachineDefinition().States as Record<string, State>;
const taskStatesOfTheDefinition = Object.entries(states)
  .filter(([, state]) => state.Type === 'Task')
  .map(([name]) => name);
const placeholdersIn = (value: unknown) =>
  [...JSON.stringify(value).matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((match) => match[1]);

/** The Resource each integration's state must have, the Lambda's own ARN for a direct invocation. */
const resourceOf = {
  lambda: (placeholder: string) => `\${${placeholder}}`,
  lambdaWaitForTaskToken: () => 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  scriptQueue: () => 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
  scriptTask: () => 'arn:aws:states:::ecs:runTask.waitForTaskToken',
  putEvents: () => 'arn:aws:states:::events:putEvents',
};

describe('the table of Task states', () => {
  it('has a row for every Task state of the definition, and none for anything else', () => {
    expect([...taskStateNames].sort()).toEqual([...taskStatesOfTheDefinition].sort());
  });

  it('names the integration each state has in the definition', () => {
    for (const name of taskStateNames) {
      const { integration } = taskStateTable[name];
      const placeholder = 'placeholder' in integration ? integration.placeholder : '';
      expect(states[name]?.Resource, name).toBe(resourceOf[integration.kind](placeholder));
    }
  });

  it("puts each Lambda row's placeholder where its state calls that Lambda, and in no other state", () => {
    for (const fn of lambdaFunctions) {
      const state = states[fn.state];
      const calledAt = fn.integration === 'lambda' ? state?.Resource : state?.Parameters?.FunctionName;
      expect(calledAt, fn.state).toBe(`\${${fn.placeholder}}`);
      const elsewhere = Object.entries(states).filter(
        ([name, other]) => name !== fn.state && placeholdersIn(other).includes(fn.placeholder),
      );
      expect(elsewhere.map(([name]) => name)).toEqual([]);
    }
  });

  it('gives a waitForTaskToken Lambda the task token in its payload, as its contract requires', () => {
    const waiting = lambdaFunctions.filter((fn) => fn.integration === 'lambdaWaitForTaskToken');
    expect(waiting.map((fn) => fn.state)).toEqual([stateNames.awaitReview]);
    for (const fn of waiting) {
      expect(states[fn.state]?.Parameters?.Payload, fn.state).toMatchObject({
        'taskToken.$': '$$.Task.Token',
      });
    }
  });

  it('derives each Lambda: logical name, handler export and placeholder from its state', () => {
    expect(lambdaFunctions.find((fn) => fn.state === stateNames.validateAndClaim)).toEqual({
      state: 'ValidateAndClaim',
      integration: 'lambda',
      logicalName: 'ValidateAndClaimFunction',
      handlerExport: 'validateAndClaim',
      placeholder: 'ValidateAndClaimFunctionArn',
    });
    const exports = lambdaFunctions.map((fn) => fn.handlerExport);
    expect(new Set(exports).size).toBe(exports.length);
    // Scripts run in the Fargate runner and the verdict is a service call: neither is a Lambda.
    expect(lambdaFunctions.map((fn) => fn.state)).not.toContain(stateNames.runScriptInPool);
    expect(lambdaFunctions.map((fn) => fn.state)).not.toContain(stateNames.emitVerdict);
  });

  it('lists every placeholder the definition uses, once, and no other', () => {
    const used = new Set(placeholdersIn(stageStateMachineDefinition()));
    expect([...definitionPlaceholders].sort()).toEqual([...used].sort());
    expect(new Set(definitionPlaceholders).size).toBe(definitionPlaceholders.length);
  });
});
