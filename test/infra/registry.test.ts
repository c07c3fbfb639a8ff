import { createTableInput } from '@stagehooks/core/dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Registry } from '../../infra/registry';

function synth(production: boolean) {
  const stack = new Stack(new App(), 'Test');
  new Registry(stack, 'Registry', { production });
  return Template.fromStack(stack);
}

describe('Registry construct', () => {
  it('builds the same table the local stack creates: keys, indexes and TTL', () => {
    // Prepare
    const local = createTableInput('stagehooks');

    // Act
    const template = synth(true);

    // Assess
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table')) as Array<{
      Properties: Record<string, unknown>;
    }>;
    expect(table?.Properties.KeySchema).toEqual(local.KeySchema);
    expect(table?.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining(local.AttributeDefinitions ?? []),
    );
    expect(table?.Properties.GlobalSecondaryIndexes).toEqual(local.GlobalSecondaryIndexes);
    expect(table?.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(table?.Properties.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('retains and protects the table in production, and not in other stages', () => {
    synth(true).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    });
    synth(false).hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});
