import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../../../src/runtime/transport/deadlines.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('DeadlineQueue', () => {
  it('fires each live deadline once, in order, after the timeout', () => {
    const q = new DeadlineQueue(100);
    const fired: string[] = [];
    q.add(() => fired.push('a'));
    vi.advanceTimersByTime(30);
    const b = q.add(() => fired.push('b'));
    vi.advanceTimersByTime(30);
    q.add(() => fired.push('c'));
    q.cancel(b);
    vi.advanceTimersByTime(39);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    vi.advanceTimersByTime(60);
    expect(fired).toEqual(['a', 'c']);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['a', 'c']);
  });

  it('re-arms for the oldest deadline left when the first one was cancelled', () => {
    const q = new DeadlineQueue(100);
    const fired: string[] = [];
    const a = q.add(() => fired.push('a'));
    vi.advanceTimersByTime(50);
    q.add(() => fired.push('b'));
    q.cancel(a);
    vi.advanceTimersByTime(50); // the timer armed for a fires, finds b not yet due
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(['b']);
  });

  it('fires nothing after clear', () => {
    const q = new DeadlineQueue(10);
    const fired: string[] = [];
    q.add(() => fired.push('a'));
    q.clear();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
  });
});
