// Answers carry every field, unset ones at their defaults, as protojson's
// EmitUnpopulated writes them (Kratos's JSON codec), in field order; oneof members,
// proto3 optional fields and an unset Value stay out; messages inside lists and maps
// are filled too.
import { describe, expect, it } from 'vitest';
import type { MessageSchema } from '../../../../src/runtime/transport/http/route.js';
import { withUnpopulated } from '../../../../src/runtime/transport/http/unpopulated-json.js';

const Leaf: MessageSchema = {
  typeName: 't.Leaf',
  fields: [
    { name: 'name', jsonName: 'name', kind: 'scalar', scalar: 'string' },
    { name: 'size', jsonName: 'size', kind: 'scalar', scalar: 'int64' },
    { name: 'child', jsonName: 'child', kind: 'message', typeName: 't.Leaf', schema: () => Leaf },
  ],
};

const Tree: MessageSchema = {
  typeName: 't.Tree',
  fields: [
    { name: 'title', jsonName: 'title', kind: 'scalar', scalar: 'string' },
    { name: 'count', jsonName: 'count', kind: 'scalar', scalar: 'int32' },
    { name: 'ok', jsonName: 'ok', kind: 'scalar', scalar: 'bool' },
    { name: 'data', jsonName: 'data', kind: 'scalar', scalar: 'bytes' },
    { name: 'color', jsonName: 'color', kind: 'enum', enumName: 't.Color', values: { COLOR_UNSPECIFIED: 0, RED: 1 } },
    { name: 'tags', jsonName: 'tags', repeated: true, kind: 'scalar', scalar: 'string' },
    {
      name: 'labels',
      jsonName: 'labels',
      kind: 'map',
      key: 'string',
      value: { name: 'value', jsonName: 'value', kind: 'scalar', scalar: 'string' },
    },
    { name: 'root', jsonName: 'root', kind: 'message', typeName: 't.Leaf', schema: () => Leaf },
    { name: 'leaves', jsonName: 'leaves', repeated: true, kind: 'message', typeName: 't.Leaf', schema: () => Leaf },
    {
      name: 'by_name',
      jsonName: 'byName',
      kind: 'map',
      key: 'string',
      value: { name: 'value', jsonName: 'value', kind: 'message', typeName: 't.Leaf', schema: () => Leaf },
    },
    {
      name: 'at',
      jsonName: 'at',
      kind: 'message',
      typeName: 'google.protobuf.Timestamp',
      schema: () => ({ typeName: 'google.protobuf.Timestamp', fields: [] }),
    },
    {
      name: 'any_json',
      jsonName: 'anyJson',
      kind: 'message',
      typeName: 'google.protobuf.Value',
      schema: () => ({ typeName: 'google.protobuf.Value', fields: [] }),
    },
    { name: 'maybe', jsonName: 'maybe', optional: true, kind: 'scalar', scalar: 'int32' },
    { name: 'email', jsonName: 'email', oneof: 'contact', kind: 'scalar', scalar: 'string' },
    { name: 'phone', jsonName: 'phone', oneof: 'contact', kind: 'scalar', scalar: 'string' },
  ],
};

describe('withUnpopulated', () => {
  it('writes every unset field at its default, in field order, and leaves presence-tracking ones out', () => {
    const out = withUnpopulated({ phone: '555', count: 3 }, Tree);
    expect(out).toEqual({
      title: '',
      count: 3,
      ok: false,
      data: '',
      color: 'COLOR_UNSPECIFIED',
      tags: [],
      labels: {},
      root: null,
      leaves: [],
      byName: {},
      at: null,
      phone: '555',
    });
    expect(Object.keys(out).slice(0, 3)).toEqual(['title', 'count', 'ok']);
  });

  it('fills messages inside messages, lists and maps, and keeps set values as they are', () => {
    const json = {
      root: { name: 'r', child: { size: '2' } },
      leaves: [{}, { name: 'b' }],
      byName: { k: {} },
      maybe: 0,
      anyJson: null,
    };
    const out = withUnpopulated(json, Tree);
    expect(out['root']).toEqual({ name: 'r', size: '0', child: { name: '', size: '2', child: null } });
    expect(out['leaves']).toEqual([
      { name: '', size: '0', child: null },
      { name: 'b', size: '0', child: null },
    ]);
    expect(out['byName']).toEqual({ k: { name: '', size: '0', child: null } });
    // A set optional field and a set null Value are written as they are.
    expect(out).toMatchObject({ maybe: 0, anyJson: null });
  });

  it('returns the message itself when nothing is missing', () => {
    const full = { name: 'n', size: '1', child: null };
    expect(withUnpopulated(full, Leaf)).toBe(full);
  });
});
