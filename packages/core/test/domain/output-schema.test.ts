import { outputSchemaIssues, outputSchemaMismatch } from '@stagehooks/core/domain';
import { describe, expect, it } from 'vitest';

describe('outputSchemaIssues (when a hook is saved)', () => {
  it.each([
    [{ type: 'nope' }],
    [{ properties: 5 }],
    [{ type: 'object', requird: ['x'] }],
    [{ $ref: '#/$defs/missing' }],
    [{ $ref: 'https://schemas.example.com/remote.json' }],
    [[]],
    ['{}'],
  ])('refuses %j, saying why', (schema) => {
    const issues = outputSchemaIssues(schema);
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) expect(issue.message).not.toBe('');
  });

  it('takes a 2020-12 schema with $defs, prefixItems and formats', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: {
        size: { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'integer' }], items: false },
      },
      properties: {
        size: { $ref: '#/$defs/size' },
        at: { type: 'string', format: 'date-time' },
        link: { type: 'string', format: 'uri' },
      },
    };
    expect(outputSchemaIssues(schema)).toEqual([]);
    expect(
      outputSchemaMismatch(schema, {
        size: [1920, 1080],
        at: '2026-12-04T10:00:00Z',
        link: 'https://a.example/x',
      }),
    ).toBeNull();
    expect(outputSchemaMismatch(schema, { size: [1920, 1080, 3] })).toMatch(/^data\.size/);
    expect(outputSchemaMismatch(schema, { at: 'yesterday' })).toBe('data.at: must match format "date-time"');
  });
});

describe('outputSchemaMismatch (when a hook returns data)', () => {
  it('names the path of the first mismatch, or null when the data matches', () => {
    const schema = {
      type: 'object',
      required: ['resolution'],
      properties: { resolution: { enum: ['1080p', '4k'] } },
    };
    expect(outputSchemaMismatch(schema, { resolution: '4k' })).toBeNull();
    expect(outputSchemaMismatch(schema, { resolution: '8k' })).toBe(
      'data.resolution: must be equal to one of the allowed values: "1080p", "4k"',
    );
    expect(outputSchemaMismatch(schema, {})).toMatch(/^data: must have required property 'resolution'/);
  });
});
