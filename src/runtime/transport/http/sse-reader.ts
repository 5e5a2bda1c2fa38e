// Server-Sent Events as the HTML standard's event-stream format defines them, read
// from a response body chunk by chunk: lines end in LF, CRLF or CR (a CRLF may be
// split across chunks), `field: value` lines build an event, a blank line sends it,
// lines starting with `:` are comments (keep-alives).

/** One event: its type (`message` unless an `event:` line named one) and its data lines joined by LF. */
export interface ServerEvent {
  type: string;
  data: string;
}

export class EventReader {
  private readonly decoder = new TextDecoder();
  private pending = '';
  /** The last chunk ended in CR: an LF opening the next one belongs to it. */
  private afterCr = false;
  private type = '';
  private data: string[] = [];

  /** The events completed by `chunk`, in order. */
  push(chunk: Uint8Array): ServerEvent[] {
    let text = this.decoder.decode(chunk, { stream: true });
    if (this.afterCr && text.startsWith('\n')) text = text.slice(1);
    this.afterCr = false;
    text = this.pending + text;
    const events: ServerEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      this.line(text.slice(start, i), events);
      if (c === 0x0d) {
        if (i + 1 === text.length) this.afterCr = true;
        else if (text.charCodeAt(i + 1) === 0x0a) i++;
      }
      start = i + 1;
    }
    this.pending = text.slice(start);
    return events;
  }

  private line(line: string, events: ServerEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push({ type: this.type || 'message', data: this.data.join('\n') });
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    // `id` and `retry` matter to a browser reconnecting; a call does not reconnect.
  }
}
