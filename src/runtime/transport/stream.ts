// What a streaming handler sends its messages with, on either transport (gRPC
// server streams, HTTP Server-Sent Events).

/** Sends one message down the stream; resolves once the transport has taken it, rejects once the stream is over. */
export type Send<T> = (message: T) => Promise<void>;
