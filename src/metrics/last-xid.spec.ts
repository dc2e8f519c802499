import { describe, expect, it } from 'vitest';
import { LastXid } from './last-xid.js';

const A = 'GPU-aaaaaaaa-0000-0000-0000-000000000000';
const B = 'GPU-bbbbbbbb-0000-0000-0000-000000000000';
const counts = (entries: Record<string, Record<number, number>>) =>
  new Map(Object.entries(entries).map(([uuid, byXid]) => [uuid, new Map(Object.entries(byXid).map(([x, c]) => [Number(x), c]))]));
const none = () => undefined;

describe('LastXid', () => {
  it('knows no XID before the first event', () => {
    expect(new LastXid().update(new Map(), none).size).toBe(0);
  });

  it('follows the XID whose count rose, per GPU', () => {
    const last = new LastXid();
    expect(new Map(last.update(counts({ [A]: { 79: 1 } }), none))).toEqual(new Map([[A, 79]]));
    expect(new Map(last.update(counts({ [A]: { 79: 1, 13: 1 } }), none))).toEqual(new Map([[A, 13]]));
    expect(new Map(last.update(counts({ [A]: { 79: 2, 13: 1 }, [B]: { 48: 1 } }), none))).toEqual(new Map([[A, 79], [B, 48]]));
    // nothing new: the last XID stays
    expect(new Map(last.update(counts({ [A]: { 79: 2, 13: 1 }, [B]: { 48: 1 } }), none))).toEqual(new Map([[A, 79], [B, 48]]));
  });

  it('prefers the XID of the critical finding when several arrived between two looks, else the highest', () => {
    expect(new LastXid().update(counts({ [A]: { 13: 1, 79: 1, 94: 1 } }), () => 79).get(A)).toBe(79);
    expect(new LastXid().update(counts({ [A]: { 13: 1, 31: 1 } }), () => 79).get(A)).toBe(31);
  });
});
