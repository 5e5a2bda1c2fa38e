// The event-stream reader the Node HTTP client reads Server-Sent Events with: the
// format's line endings, fields and comments, with chunks split anywhere.
import { describe, expect, it } from 'vitest';
import { EventReader, type ServerEvent } from '../../../../src/runtime/transport/http/sse-reader.js';

/** The events of `text` when it arrives cut into chunks at `cuts` (byte offsets). */
function read(text: string, cuts: number[] = []): ServerEvent[] {
  const bytes = Buffer.from(text, 'utf8');
  const reader = new EventReader();
  const events: ServerEvent[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...reader.push(bytes.subarray(at, cut)));
    at = cut;
  }
  return events;
}

describe('EventReader', () => {
  const stream = ': keep-alive\n\ndata: {"a":1}\n\nevent: error\ndata: {"code":409}\n\n';

  it('reads data and named events, skipping comments, at every chunk boundary', () => {
    const expected = [
      { type: 'message', data: '{"a":1}' },
      { type: 'error', data: '{"code":409}' },
    ];
    expect(read(stream)).toEqual(expected);
    for (let cut = 1; cut < stream.length; cut++) expect(read(stream, [cut])).toEqual(expected);
  });

  it('accepts CRLF and CR line endings, also when a CRLF is split between chunks', () => {
    const crlf = 'data: one\r\n\r\ndata: two\r\r';
    expect(read(crlf)).toEqual([
      { type: 'message', data: 'one' },
      { type: 'message', data: 'two' },
    ]);
    expect(read(crlf, [10])).toEqual(read(crlf));
    expect(read(crlf, [11])).toEqual(read(crlf));
  });

  it('joins data lines with LF, strips one space after the colon, and sends nothing for an event without data', () => {
    expect(read('data:a\ndata:  b\ndata\n\nevent: x\n\n')).toEqual([{ type: 'message', data: 'a\n b\n' }]);
  });

  it('decodes a multi-byte character split between chunks', () => {
    const text = 'data: {"t":"héllo ✓"}\n\n';
    const at = Buffer.from('data: {"t":"h', 'utf8').length + 1; // inside é
    expect(read(text, [at, at + 8])).toEqual([{ type: 'message', data: '{"t":"héllo ✓"}' }]);
  });

  it('keeps an unfinished event until its blank line arrives', () => {
    const reader = new EventReader();
    expect(reader.push(Buffer.from('data: x\n'))).toEqual([]);
    expect(reader.push(Buffer.from('\n'))).toEqual([{ type: 'message', data: 'x' }]);
  });
});
