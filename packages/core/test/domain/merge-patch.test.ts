import { mergePatch } from '@stagehooks/core/domain';
import { describe, expect, it } from 'vitest';

// RFC 7396, Appendix A: every example, as [target, patch, result].
const appendixA: Array<[unknown, unknown, unknown]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [
    ['a', 'b'],
    ['c', 'd'],
    ['c', 'd'],
  ],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('mergePatch (RFC 7396)', () => {
  it.each(appendixA)('merges %j with %j into %j', (target, patch, result) => {
    expect(mergePatch(target, patch)).toStrictEqual(result);
  });

  it('changes neither the target nor the patch', () => {
    // Prepare
    const target = { a: { b: 'c', keep: [1, 2] }, drop: 1 };
    const patch = { a: { b: 'd' }, drop: null, add: { x: 1 } };
    const before = JSON.stringify([target, patch]);

    // Act
    const merged = mergePatch(target, patch) as Record<string, unknown>;

    // Assess
    expect(JSON.stringify([target, patch])).toBe(before);
    expect(merged).toStrictEqual({ a: { b: 'd', keep: [1, 2] }, add: { x: 1 } });
    // a value taken from the patch is not the patch's own object either way round
    (merged.add as Record<string, unknown>).x = 2;
    expect(patch.add.x).toBe(1);
  });

  it('keeps __proto__ and constructor as own keys, and pollutes no prototype', () => {
    // Prepare: keys as JSON.parse makes them (own data properties)
    const target = JSON.parse('{"constructor":{"name":"kept"},"a":1}');
    const patch = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"extra":2}}');

    // Act
    const merged = mergePatch(target, patch) as Record<string, unknown>;

    // Assess: compared as JSON text (an own `constructor` key confuses deep equality)
    expect(JSON.stringify(merged)).toBe(
      '{"constructor":{"name":"kept","extra":2},"a":1,"__proto__":{"polluted":true}}',
    );
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('deletes a __proto__ key with a null', () => {
    const merged = mergePatch(JSON.parse('{"__proto__":{"x":1},"b":2}'), JSON.parse('{"__proto__":null}'));
    expect(JSON.stringify(merged)).toBe('{"b":2}');
  });
});
