import { type FieldIssue, ValidationError } from '@stagehooks/core/errors';
import { compilePattern, type EventPattern, stageReachedPattern } from '@stagehooks/core/events';
import { stageReachedEvent } from '@test/events';
import { describe, expect, it } from 'vitest';

const event = {
  source: 'studio.pipeline',
  'detail-type': 'Stage Reached',
  detail: {
    hookPoint: 'post_segment',
    jobId: 'job-42',
    segmentPath: 's3://renders/job-42/seg-3.mp4',
    size: 3,
    ratio: 0.5,
    approved: true,
    reviewer: null,
    note: '',
    tags: ['color', 'Final'],
    numbers: [1, [2, 3]],
    empty: [],
    clientIp: '10.0.0.17',
    metadata: { segmentIndex: 3, durationSeconds: 4.2 },
    shots: [
      { camera: 'a', take: 2 },
      { camera: 'b', take: 5 },
    ],
  },
};
const detail = (pattern: EventPattern): EventPattern => ({ detail: pattern });
const withDetail = (fields: Record<string, unknown>) => ({
  ...event,
  detail: { ...event.detail, ...fields },
});

type Row = { name: string; pattern: EventPattern; event?: unknown; matches: boolean };

const rows: Row[] = [
  // exact values
  { name: 'exact string', pattern: { source: ['studio.pipeline'] }, matches: true },
  { name: 'exact string, other value', pattern: { source: ['studio.other'] }, matches: false },
  {
    name: 'values in a list are ORed',
    pattern: { source: ['studio.other', 'studio.pipeline'] },
    matches: true,
  },
  { name: 'exact match is case-sensitive', pattern: { 'detail-type': ['stage reached'] }, matches: false },
  { name: 'exact number', pattern: detail({ size: [3] }), matches: true },
  { name: 'a string never matches a number', pattern: detail({ size: ['3'] }), matches: false },
  {
    name: 'a number never matches a string',
    pattern: detail({ jobId: [42] }),
    event: withDetail({ jobId: '42' }),
    matches: false,
  },
  { name: 'exact boolean', pattern: detail({ approved: [true] }), matches: true },
  { name: 'a boolean is not its string', pattern: detail({ approved: ['true'] }), matches: false },
  { name: 'null matches null', pattern: detail({ reviewer: [null] }), matches: true },
  { name: 'null is not the empty string', pattern: detail({ reviewer: [''] }), matches: false },
  { name: 'the empty string matches ""', pattern: detail({ note: [''] }), matches: true },
  { name: 'an event array matches if any element does', pattern: detail({ tags: ['Final'] }), matches: true },
  { name: 'no element of the event array matches', pattern: detail({ tags: ['final'] }), matches: false },
  { name: 'nested event arrays are flattened', pattern: detail({ numbers: [3] }), matches: true },
  { name: 'a missing field never matches a value', pattern: detail({ absent: ['x'] }), matches: false },
  { name: 'an object is not a value', pattern: detail({ metadata: ['x'] }), matches: false },

  // nesting and AND
  { name: 'nested object', pattern: detail({ metadata: { segmentIndex: [3] } }), matches: true },
  {
    name: 'nested object, other value',
    pattern: detail({ metadata: { segmentIndex: [4] } }),
    matches: false,
  },
  { name: 'nested pattern on a scalar field', pattern: detail({ jobId: { x: ['y'] } }), matches: false },
  {
    name: 'every field must match',
    pattern: { source: ['studio.pipeline'], detail: { hookPoint: ['pre_segment'] } },
    matches: false,
  },
  {
    name: 'all fields match',
    pattern: { source: ['studio.pipeline'], 'detail-type': ['Stage Reached'], detail: { jobId: ['job-42'] } },
    matches: true,
  },
  {
    name: 'array of objects: one element matches',
    pattern: detail({ shots: { camera: ['b'], take: [5] } }),
    matches: true,
  },
  {
    name: 'array of objects: fields must match in the same element',
    pattern: detail({ shots: { camera: ['a'], take: [5] } }),
    matches: false,
  },

  // prefix
  { name: 'prefix', pattern: detail({ segmentPath: [{ prefix: 's3://renders/' }] }), matches: true },
  {
    name: 'prefix is case-sensitive',
    pattern: detail({ segmentPath: [{ prefix: 'S3://' }] }),
    matches: false,
  },
  {
    name: 'prefix ignoring case',
    pattern: detail({ segmentPath: [{ prefix: { 'equals-ignore-case': 'S3://RENDERS' } }] }),
    matches: true,
  },
  {
    name: 'prefix ignoring case, other prefix',
    pattern: detail({ segmentPath: [{ prefix: { 'equals-ignore-case': 'GS://' } }] }),
    matches: false,
  },
  { name: 'prefix never matches a number', pattern: detail({ size: [{ prefix: '3' }] }), matches: false },
  { name: 'prefix on an event array', pattern: detail({ tags: [{ prefix: 'Fin' }] }), matches: true },

  // suffix
  { name: 'suffix', pattern: detail({ segmentPath: [{ suffix: '.mp4' }] }), matches: true },
  {
    name: 'suffix is case-sensitive',
    pattern: detail({ segmentPath: [{ suffix: '.MP4' }] }),
    matches: false,
  },
  {
    name: 'suffix ignoring case',
    pattern: detail({ segmentPath: [{ suffix: { 'equals-ignore-case': '.MP4' } }] }),
    matches: true,
  },
  {
    name: 'suffix ignoring case, other suffix',
    pattern: detail({ segmentPath: [{ suffix: { 'equals-ignore-case': '.MOV' } }] }),
    matches: false,
  },

  // equals-ignore-case
  {
    name: 'equals-ignore-case',
    pattern: detail({ hookPoint: [{ 'equals-ignore-case': 'POST_Segment' }] }),
    matches: true,
  },
  {
    name: 'equals-ignore-case, other value',
    pattern: detail({ hookPoint: [{ 'equals-ignore-case': 'post-segment' }] }),
    matches: false,
  },
  {
    name: 'equals-ignore-case never matches null',
    pattern: detail({ reviewer: [{ 'equals-ignore-case': 'null' }] }),
    matches: false,
  },

  // wildcard
  {
    name: 'wildcard',
    pattern: detail({ segmentPath: [{ wildcard: 's3://renders/*/seg-*.mp4' }] }),
    matches: true,
  },
  {
    name: 'wildcard, no match',
    pattern: detail({ segmentPath: [{ wildcard: 's3://renders/*.mov' }] }),
    matches: false,
  },
  {
    name: 'wildcard without a star is exact',
    pattern: detail({ jobId: [{ wildcard: 'job-4' }] }),
    matches: false,
  },
  { name: 'a star matches the empty string', pattern: detail({ note: [{ wildcard: '*' }] }), matches: true },
  {
    name: 'an escaped star is literal',
    pattern: detail({ glob: [{ wildcard: '\\*.png' }] }),
    event: withDetail({ glob: '*.png' }),
    matches: true,
  },
  {
    name: 'an escaped star matches only a star',
    pattern: detail({ glob: [{ wildcard: '\\*.png' }] }),
    event: withDetail({ glob: 'a.png' }),
    matches: false,
  },
  { name: 'wildcard never matches a number', pattern: detail({ size: [{ wildcard: '*' }] }), matches: false },

  // anything-but
  {
    name: 'anything-but a string',
    pattern: detail({ hookPoint: [{ 'anything-but': 'pre_segment' }] }),
    matches: true,
  },
  {
    name: 'anything-but the value itself',
    pattern: detail({ hookPoint: [{ 'anything-but': 'post_segment' }] }),
    matches: false,
  },
  {
    name: 'anything-but a list holding the value',
    pattern: detail({ hookPoint: [{ 'anything-but': ['pre_segment', 'post_segment'] }] }),
    matches: false,
  },
  { name: 'anything-but numbers', pattern: detail({ size: [{ 'anything-but': [1, 2] }] }), matches: true },
  {
    name: 'anything-but the number itself',
    pattern: detail({ size: [{ 'anything-but': 3 }] }),
    matches: false,
  },
  {
    name: 'anything-but a string passes a number',
    pattern: detail({ size: [{ 'anything-but': 'x' }] }),
    matches: true,
  },
  {
    name: 'anything-but passes null',
    pattern: detail({ reviewer: [{ 'anything-but': 'x' }] }),
    matches: true,
  },
  {
    name: 'anything-but on a missing field',
    pattern: detail({ absent: [{ 'anything-but': 'x' }] }),
    matches: false,
  },
  {
    name: 'anything-but on an array: another element passes',
    pattern: detail({ tags: [{ 'anything-but': 'color' }] }),
    matches: true,
  },
  {
    name: 'anything-but on an array: every element excluded',
    pattern: detail({ tags: [{ 'anything-but': ['color', 'Final'] }] }),
    matches: false,
  },
  {
    name: 'anything-but prefix, excluded',
    pattern: detail({ segmentPath: [{ 'anything-but': { prefix: 's3://' } }] }),
    matches: false,
  },
  {
    name: 'anything-but prefix',
    pattern: detail({ hookPoint: [{ 'anything-but': { prefix: 'pre_' } }] }),
    matches: true,
  },
  {
    name: 'anything-but prefix passes a number',
    pattern: detail({ size: [{ 'anything-but': { prefix: '3' } }] }),
    matches: true,
  },
  {
    name: 'anything-but suffix, excluded',
    pattern: detail({ segmentPath: [{ 'anything-but': { suffix: '.mp4' } }] }),
    matches: false,
  },
  {
    name: 'anything-but suffix list',
    pattern: detail({ segmentPath: [{ 'anything-but': { suffix: ['.mov', '.avi'] } }] }),
    matches: true,
  },
  {
    name: 'anything-but ignoring case, excluded',
    pattern: detail({ hookPoint: [{ 'anything-but': { 'equals-ignore-case': 'POST_SEGMENT' } }] }),
    matches: false,
  },
  {
    name: 'anything-but ignoring case',
    pattern: detail({
      hookPoint: [{ 'anything-but': { 'equals-ignore-case': ['PRE_SEGMENT', 'post_delivery'] } }],
    }),
    matches: true,
  },
  {
    name: 'anything-but wildcard, excluded',
    pattern: detail({ segmentPath: [{ 'anything-but': { wildcard: '*/job-42/*' } }] }),
    matches: false,
  },
  {
    name: 'anything-but wildcard',
    pattern: detail({ segmentPath: [{ 'anything-but': { wildcard: '*/job-7/*' } }] }),
    matches: true,
  },

  // numeric
  { name: 'numeric range', pattern: detail({ size: [{ numeric: ['>', 0, '<=', 5] }] }), matches: true },
  {
    name: 'numeric range, outside',
    pattern: detail({ size: [{ numeric: ['>', 3, '<', 10] }] }),
    matches: false,
  },
  { name: 'numeric > is strict', pattern: detail({ size: [{ numeric: ['>', 3] }] }), matches: false },
  {
    name: 'numeric >= includes the bound',
    pattern: detail({ size: [{ numeric: ['>=', 3] }] }),
    matches: true,
  },
  { name: 'numeric =', pattern: detail({ size: [{ numeric: ['=', 3] }] }), matches: true },
  { name: 'numeric =, other value', pattern: detail({ size: [{ numeric: ['=', 3.5] }] }), matches: false },
  { name: 'numeric < is strict', pattern: detail({ size: [{ numeric: ['<', 3] }] }), matches: false },
  {
    name: 'numeric <= includes the bound',
    pattern: detail({ size: [{ numeric: ['<=', 3] }] }),
    matches: true,
  },
  {
    name: 'numeric with decimals',
    pattern: detail({ ratio: [{ numeric: ['>', 0.25, '<', 0.75] }] }),
    matches: true,
  },
  {
    name: 'numeric never matches a string',
    pattern: detail({ size: [{ numeric: ['=', 3] }] }),
    event: withDetail({ size: '3' }),
    matches: false,
  },
  { name: 'numeric on an event array', pattern: detail({ numbers: [{ numeric: ['>', 2] }] }), matches: true },
  {
    name: 'numeric on a missing field',
    pattern: detail({ absent: [{ numeric: ['>', 0] }] }),
    matches: false,
  },
  {
    name: 'numeric ignores event values beyond 5e9',
    pattern: detail({ bytes: [{ numeric: ['>', 0] }] }),
    event: withDetail({ bytes: 6e9 }),
    matches: false,
  },
  {
    name: 'numeric in a nested object',
    pattern: detail({ metadata: { durationSeconds: [{ numeric: ['<', 5] }] } }),
    matches: true,
  },

  // exists
  { name: 'exists: true, present', pattern: detail({ jobId: [{ exists: true }] }), matches: true },
  { name: 'exists: true, absent', pattern: detail({ absent: [{ exists: true }] }), matches: false },
  { name: 'exists: false, absent', pattern: detail({ absent: [{ exists: false }] }), matches: true },
  { name: 'exists: false, present', pattern: detail({ jobId: [{ exists: false }] }), matches: false },
  { name: 'exists: true on null: present', pattern: detail({ reviewer: [{ exists: true }] }), matches: true },
  {
    name: 'exists: false on null: present',
    pattern: detail({ reviewer: [{ exists: false }] }),
    matches: false,
  },
  {
    name: 'exists only sees leaves: an object is absent',
    pattern: detail({ metadata: [{ exists: true }] }),
    matches: false,
  },
  {
    name: 'exists: false on an object field',
    pattern: detail({ metadata: [{ exists: false }] }),
    matches: true,
  },
  { name: 'exists: false on an empty array', pattern: detail({ empty: [{ exists: false }] }), matches: true },
  {
    name: 'exists: false under a missing parent',
    pattern: detail({ missing: { x: [{ exists: false }] } }),
    matches: true,
  },
  {
    name: 'exists: true under a missing parent',
    pattern: detail({ missing: { x: [{ exists: true }] } }),
    matches: false,
  },
  {
    name: 'exists in an array of objects',
    pattern: detail({ shots: { camera: [{ exists: true }] } }),
    matches: true,
  },

  // cidr
  { name: 'cidr', pattern: detail({ clientIp: [{ cidr: '10.0.0.0/24' }] }), matches: true },
  { name: 'cidr, other network', pattern: detail({ clientIp: [{ cidr: '10.0.1.0/24' }] }), matches: false },
  {
    name: 'cidr /0 holds every IPv4 address',
    pattern: detail({ clientIp: [{ cidr: '0.0.0.0/0' }] }),
    matches: true,
  },
  {
    name: 'cidr /32 is one address',
    pattern: detail({ clientIp: [{ cidr: '10.0.0.16/32' }] }),
    matches: false,
  },
  {
    name: 'cidr never matches a non-address',
    pattern: detail({ hookPoint: [{ cidr: '10.0.0.0/8' }] }),
    matches: false,
  },
  {
    name: 'cidr IPv6',
    pattern: detail({ ip: [{ cidr: '2001:db8::/32' }] }),
    event: withDetail({ ip: '2001:db8:0:0::1' }),
    matches: true,
  },
  {
    name: 'cidr IPv6, other network',
    pattern: detail({ ip: [{ cidr: '2001:db9::/32' }] }),
    event: withDetail({ ip: '2001:db8::1' }),
    matches: false,
  },
  {
    name: 'an IPv4 address is not in an IPv6 block',
    pattern: detail({ clientIp: [{ cidr: '::/0' }] }),
    matches: false,
  },

  // $or
  {
    name: '$or at the top level',
    pattern: { $or: [{ source: ['studio.other'] }, { 'detail-type': ['Stage Reached'] }] },
    matches: true,
  },
  {
    name: '$or at the top level, no branch matches',
    pattern: { $or: [{ source: ['studio.other'] }, { detail: { size: [{ numeric: ['>', 10] }] } }] },
    matches: false,
  },
  {
    name: '$or nested in detail',
    pattern: detail({ $or: [{ size: [{ numeric: ['>', 10] }] }, { hookPoint: ['post_segment'] }] }),
    matches: true,
  },
  {
    name: '$or is ANDed with its sibling fields',
    pattern: {
      source: ['studio.other'],
      $or: [{ 'detail-type': ['Stage Reached'] }, { detail: { size: [3] } }],
    },
    matches: false,
  },
  {
    name: '$or inside an $or branch',
    pattern: {
      $or: [
        { source: ['studio.other'] },
        { detail: { $or: [{ jobId: ['job-7'] }, { metadata: { segmentIndex: [3] } }] } },
      ],
    },
    matches: true,
  },

  // combinations
  {
    name: 'several matchers for one field are ORed',
    pattern: detail({ hookPoint: [{ prefix: 'pre_' }, 'post_segment'] }),
    matches: true,
  },
  {
    name: 'exists: false ORed with a value',
    pattern: detail({ absent: [{ exists: false }, 'x'] }),
    matches: true,
  },
  {
    name: 'a rule mixing every kind of matcher',
    pattern: {
      source: [{ prefix: 'studio.' }],
      'detail-type': [{ 'equals-ignore-case': 'stage reached' }],
      detail: {
        hookPoint: [{ 'anything-but': ['post_delivery'] }],
        segmentPath: [{ wildcard: '*.mp4' }],
        metadata: { segmentIndex: [{ numeric: ['>=', 0, '<', 10] }] },
        clientIp: [{ cidr: '10.0.0.0/8' }],
        reviewer: [{ exists: true }],
        rejectedBy: [{ exists: false }],
      },
    },
    matches: true,
  },
  {
    name: 'the same rule with one field failing',
    pattern: {
      source: [{ prefix: 'studio.' }],
      'detail-type': [{ 'equals-ignore-case': 'stage reached' }],
      detail: {
        hookPoint: [{ 'anything-but': ['post_delivery'] }],
        segmentPath: [{ wildcard: '*.mp4' }],
        metadata: { segmentIndex: [{ numeric: ['>=', 0, '<', 10] }] },
        clientIp: [{ cidr: '192.168.0.0/16' }],
      },
    },
    matches: false,
  },
];

describe('compilePattern: matching', () => {
  it.each(rows)('$name', ({ pattern, event: given, matches }) => {
    expect(compilePattern(pattern)(given ?? event)).toBe(matches);
  });

  it('matches many events with one compiled pattern', () => {
    // Prepare
    const matches = compilePattern({
      source: ['studio.pipeline'],
      detail: { size: [{ numeric: ['>', 10] }] },
    });

    // Act
    const results = [5, 10, 11, '11'].map((size) => matches({ source: 'studio.pipeline', detail: { size } }));

    // Assess
    expect(results).toEqual([false, false, true, false]);
  });
});

type InvalidRow = { name: string; pattern: unknown; path: string; reason: string };

const invalidRows: InvalidRow[] = [
  { name: 'not an object', pattern: ['studio.pipeline'], path: '', reason: 'must be a pattern object' },
  { name: 'empty pattern', pattern: {}, path: '', reason: 'must not be an empty object' },
  {
    name: 'empty nested object',
    pattern: { detail: {} },
    path: 'detail',
    reason: 'must not be an empty object',
  },
  {
    name: 'empty array',
    pattern: { detail: { state: [] } },
    path: 'detail.state',
    reason: 'must not be an empty array',
  },
  {
    name: 'non-array leaf',
    pattern: { source: 'studio.pipeline' },
    path: 'source',
    reason: 'must be an array of values and matchers, or a nested pattern object',
  },
  {
    name: 'array inside a value list',
    pattern: { detail: { tags: [['a']] } },
    path: 'detail.tags',
    reason: 'values must be strings, numbers, booleans, null or matcher objects',
  },
  {
    name: 'non-finite number',
    pattern: { detail: { size: [Number.POSITIVE_INFINITY] } },
    path: 'detail.size',
    reason: 'numbers must be finite',
  },
  {
    name: 'unknown matcher key',
    pattern: { detail: { x: [{ contains: 'a' }] } },
    path: 'detail.x',
    reason: 'unknown matcher "contains"',
  },
  {
    name: 'two keys in one matcher',
    pattern: { detail: { x: [{ prefix: 'a', suffix: 'b' }] } },
    path: 'detail.x',
    reason: 'a matcher object has exactly one key, got prefix, suffix',
  },
  {
    name: 'empty matcher',
    pattern: { detail: { x: [{}] } },
    path: 'detail.x',
    reason: 'a matcher object has exactly one key, got none',
  },
  {
    name: 'prefix with a number',
    pattern: { detail: { x: [{ prefix: 3 }] } },
    path: 'detail.x',
    reason: 'prefix must be a string or {"equals-ignore-case": string}',
  },
  {
    name: 'suffix with an unknown option',
    pattern: { detail: { x: [{ suffix: { 'ignore-case': '.png' } }] } },
    path: 'detail.x',
    reason: 'suffix must be a string or {"equals-ignore-case": string}',
  },
  {
    name: 'equals-ignore-case with a number',
    pattern: { detail: { x: [{ 'equals-ignore-case': 1 }] } },
    path: 'detail.x',
    reason: 'equals-ignore-case must be a string',
  },
  {
    name: 'numeric without pairs',
    pattern: { detail: { size: [{ numeric: ['>'] }] } },
    path: 'detail.size',
    reason: 'numeric needs operator/value pairs',
  },
  {
    name: 'numeric not an array',
    pattern: { detail: { size: [{ numeric: '>5' }] } },
    path: 'detail.size',
    reason: 'numeric needs operator/value pairs',
  },
  {
    name: 'numeric with three pairs',
    pattern: { detail: { size: [{ numeric: ['>', 0, '<', 5, '=', 3] }] } },
    path: 'detail.size',
    reason: 'numeric needs operator/value pairs',
  },
  {
    name: 'numeric with a bad operator',
    pattern: { detail: { size: [{ numeric: ['!=', 3] }] } },
    path: 'detail.size',
    reason: 'numeric operator must be one of =, <, <=, >, >=, got "!="',
  },
  {
    name: 'numeric with a string',
    pattern: { detail: { size: [{ numeric: ['>', '5'] }] } },
    path: 'detail.size',
    reason: 'numeric value after ">" must be a number',
  },
  {
    name: 'numeric range upper bound first',
    pattern: { detail: { size: [{ numeric: ['<', 5, '>', 0] }] } },
    path: 'detail.size',
    reason: 'a numeric range is a lower bound (> or >=) followed by an upper bound (< or <=)',
  },
  {
    name: 'numeric range with =',
    pattern: { detail: { size: [{ numeric: ['=', 1, '<', 5] }] } },
    path: 'detail.size',
    reason: 'a numeric range is a lower bound',
  },
  {
    name: 'numeric range that is empty',
    pattern: { detail: { size: [{ numeric: ['>', 5, '<', 1] }] } },
    path: 'detail.size',
    reason: 'numeric range: the lower bound must be below the upper bound',
  },
  {
    name: 'numeric beyond 5e9',
    pattern: { detail: { size: [{ numeric: ['>', 6e9] }] } },
    path: 'detail.size',
    reason: 'numeric: values must be between -5e9 and 5e9',
  },
  {
    name: 'numeric with seven decimals',
    pattern: { detail: { size: [{ numeric: ['>', 0.1234567] }] } },
    path: 'detail.size',
    reason: 'numeric: values may have at most 6 decimal places',
  },
  {
    name: 'exists with a string',
    pattern: { detail: { x: [{ exists: 'yes' }] } },
    path: 'detail.x',
    reason: 'exists must be true or false',
  },
  {
    name: 'cidr without a prefix length',
    pattern: { ip: [{ cidr: '10.0.0.0' }] },
    path: 'ip',
    reason: 'cidr must be an IPv4 or IPv6 CIDR block',
  },
  {
    name: 'cidr prefix too long',
    pattern: { ip: [{ cidr: '10.0.0.0/33' }] },
    path: 'ip',
    reason: 'cidr must be an IPv4 or IPv6 CIDR block',
  },
  {
    name: 'cidr with a bad octet',
    pattern: { ip: [{ cidr: '300.0.0.0/8' }] },
    path: 'ip',
    reason: 'cidr must be an IPv4 or IPv6 CIDR block',
  },
  {
    name: 'wildcard with consecutive stars',
    pattern: { x: [{ wildcard: 'a**b' }] },
    path: 'x',
    reason: 'wildcard must not have consecutive "*"',
  },
  {
    name: 'wildcard with a bad escape',
    pattern: { x: [{ wildcard: 'a\\b' }] },
    path: 'x',
    reason: 'wildcard may only escape "*" and "\\"',
  },
  {
    name: 'anything-but an empty list',
    pattern: { x: [{ 'anything-but': [] }] },
    path: 'x',
    reason: 'anything-but needs at least one value',
  },
  {
    name: 'anything-but a mixed list',
    pattern: { x: [{ 'anything-but': ['a', 1] }] },
    path: 'x',
    reason: 'anything-but lists must be all strings or all numbers',
  },
  {
    name: 'anything-but a boolean',
    pattern: { x: [{ 'anything-but': true }] },
    path: 'x',
    reason: 'anything-but takes a string, a number',
  },
  {
    name: 'anything-but an empty prefix',
    pattern: { x: [{ 'anything-but': { prefix: '' } }] },
    path: 'x',
    reason: 'anything-but prefix must not be empty',
  },
  {
    name: 'anything-but an unknown matcher',
    pattern: { x: [{ 'anything-but': { numeric: ['>', 1] } }] },
    path: 'x',
    reason: 'anything-but takes a string',
  },
  {
    name: 'anything-but a bad wildcard',
    pattern: { x: [{ 'anything-but': { wildcard: ['a*', 'b**'] } }] },
    path: 'x',
    reason: 'anything-but wildcard must not have consecutive "*"',
  },
  {
    name: '$or with one branch',
    pattern: { $or: [{ a: ['x'] }] },
    path: '$or',
    reason: 'must be an array of at least two pattern objects',
  },
  {
    name: '$or holding a value',
    pattern: { detail: { $or: [{ a: ['x'] }, 'b'] } },
    path: 'detail.$or.1',
    reason: 'must be a pattern object',
  },
  {
    name: 'bad field inside an $or branch',
    pattern: { $or: [{ a: ['x'] }, { b: [] }] },
    path: '$or.1.b',
    reason: 'must not be an empty array',
  },
  {
    name: 'a matcher name as a field inside $or',
    pattern: { $or: [{ prefix: ['x'] }, { b: ['y'] }] },
    path: '$or.0.prefix',
    reason: '"prefix" is reserved for matchers and cannot be a field name in $or',
  },
];

function issuesOf(pattern: unknown): FieldIssue[] {
  try {
    compilePattern(pattern);
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
  return expect.fail('the pattern was accepted');
}

describe('compilePattern: validation', () => {
  it.each(invalidRows)('rejects $name', ({ pattern, path, reason }) => {
    expect(issuesOf(pattern)).toContainEqual({ path, message: expect.stringContaining(reason) });
    expect(() => compilePattern(pattern)).toThrow(
      path === '' ? `invalid event pattern: ${reason}` : `${path}: ${reason}`,
    );
  });

  it('compiles a valid pattern read from JSON', () => {
    // Prepare
    const input: unknown = JSON.parse(
      '{"detail":{"size":[{"numeric":[">",0,"<=",5]}],"$or":[{"a":[1]},{"b":[null]}]}}',
    );

    // Act
    const matches = compilePattern(input);

    // Assess
    expect(matches({ detail: { size: 2, b: null } })).toBe(true);
    expect(matches({ detail: { size: 6, b: null } })).toBe(false);
  });

  it('names every bad part at once, as a 400', () => {
    // Prepare
    const input = { source: [], detail: { size: [{ numeric: ['>', 'x'] }], state: 'on' } };

    // Act
    const issues = issuesOf(input);
    const error = (() => {
      try {
        return compilePattern(input);
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(issues).toEqual([
      { path: 'source', message: 'must not be an empty array' },
      { path: 'detail.size', message: 'numeric value after ">" must be a number' },
      {
        path: 'detail.state',
        message: 'must be an array of values and matchers, or a nested pattern object',
      },
    ]);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toHaveProperty('statusCode', 400);
  });

  it('accepts the rule pattern stagehooks ships', () => {
    expect(() => compilePattern(stageReachedPattern)).not.toThrow();
  });
});

describe('stagehooks rule patterns', () => {
  const stageReached = stageReachedEvent();

  it('stageReachedPattern matches the pipeline fixture', () => {
    expect(compilePattern(stageReachedPattern)(stageReached)).toBe(true);
  });

  it.each([
    { name: 'another source', change: { source: 'studio.renderer' } },
    { name: 'another detail-type', change: { 'detail-type': 'Stage Left' } },
    { name: 'a verdict event', change: { source: 'stagehooks', 'detail-type': 'Stage Hooks Completed' } },
  ])('stageReachedPattern rejects the fixture with $name', ({ change }) => {
    expect(compilePattern(stageReachedPattern)({ ...stageReached, ...change })).toBe(false);
  });
});
