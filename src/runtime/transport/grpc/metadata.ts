// grpc-js Metadata as the transport-neutral Header, and back.
import { Metadata } from '@grpc/grpc-js';
import type { Header } from '../context.js';

/** A Header view over incoming metadata; binary (`-bin`) entries are skipped. */
export class MetadataHeader implements Header {
  constructor(private readonly metadata: Metadata) {}
  get(key: string): string | undefined {
    const v = this.metadata.get(key.toLowerCase())[0];
    return typeof v === 'string' ? v : undefined;
  }
  values(key: string): string[] {
    return this.metadata.get(key.toLowerCase()).filter((v): v is string => typeof v === 'string');
  }
  set(key: string, value: string): void {
    this.metadata.set(key.toLowerCase(), value);
  }
  add(key: string, value: string): void {
    this.metadata.add(key.toLowerCase(), value);
  }
  keys(): string[] {
    return Object.keys(this.metadata.getMap()).filter((k) => !k.endsWith('-bin'));
  }
}

/** Copies a Header into outgoing metadata, leaving out names gRPC reserves for itself. */
export function toMetadata(header: Header, into = new Metadata()): Metadata {
  for (const key of header.keys()) {
    if (key.startsWith('grpc-') || key.startsWith(':') || RESERVED.has(key) || key.endsWith('-bin')) continue;
    for (const value of header.values(key)) into.add(key, value);
  }
  return into;
}

const RESERVED = new Set([
  'content-type',
  'te',
  'host',
  'user-agent',
  'connection',
  'accept-encoding',
  'content-length',
  'transfer-encoding',
]);
