import { describe, expect, it } from 'vitest';
import {
  chain,
  HeaderMap,
  backgroundContext,
  type Handler,
  type Middleware,
  type Transport,
} from '../../../src/runtime/transport/context.js';

const transport: Transport = {
  kind: 'http',
  endpoint: 'http://127.0.0.1:1',
  operation: '/t.v1.S/M',
  requestHeader: new HeaderMap(),
  replyHeader: new HeaderMap(),
};

describe('chain', () => {
  it('runs the first middleware outermost', async () => {
    const seen: string[] = [];
    const tag =
      (name: string): Middleware =>
      (next) =>
      async (ctx, req) => {
        seen.push(`${name}>`);
        const res = await next(ctx, req);
        seen.push(`<${name}`);
        return res;
      };
    const handler: Handler = async (_ctx, req) => {
      seen.push('handler');
      return req;
    };
    const res = await chain(tag('a'), tag('b'))(handler)(backgroundContext(transport), 42);
    expect(res).toBe(42);
    expect(seen).toEqual(['a>', 'b>', 'handler', '<b', '<a']);
  });
});

describe('HeaderMap', () => {
  it('is case-insensitive and multi-valued', () => {
    const h = new HeaderMap([
      ['X-Id', ['1', '2']],
      ['skip', undefined],
    ]);
    h.add('x-id', '3');
    expect(h.values('X-ID')).toEqual(['1', '2', '3']);
    expect(h.get('x-id')).toBe('1');
    h.set('X-Id', 'only');
    expect(h.values('x-id')).toEqual(['only']);
    expect(h.keys()).toEqual(['x-id']);
  });
});
