// The proto `tsk proto add` writes: a collection path in the noun's plural, and a comment
// on each rpc (the OpenAPI operation's summary).
import { describe, expect, it } from 'vitest';
import { renderProtoTemplate } from '../../../src/gen/proto-template.js';

describe('tsk proto add template', () => {
  it.each([
    ['order', '/v1/orders'],
    ['box', '/v1/boxes'],
    ['address', '/v1/addresses'],
    ['inventory', '/v1/inventories'],
    ['day', '/v1/days'],
    ['branch', '/v1/branches'],
  ])('%s is served at %s', (noun, path) => {
    const proto = renderProtoTemplate({ protoPath: `api/shop/v1/${noun}.proto` });
    expect(proto).toContain(`post: "${path}"`);
    expect(proto).toContain(`get: "${path}/{id}"`);
  });

  it('comments every rpc, with the article the noun takes', () => {
    const proto = renderProtoTemplate({ protoPath: 'api/shop/v1/order.proto' });
    expect(proto).toContain('  // Creates an order.\n  rpc CreateOrder(');
    expect(proto.match(/\n {2}\/\/ .*\n {2}rpc /g)).toHaveLength(5);
    for (const [noun, one] of [
      ['book', 'a book'],
      ['user', 'a user'],
      ['unit', 'a unit'],
      ['update', 'an update'],
      ['item', 'an item'],
    ])
      expect(renderProtoTemplate({ protoPath: `api/shop/v1/${noun}.proto` })).toContain(`// Gets ${one} by its id.`);
  });
});
