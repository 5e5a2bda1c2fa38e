// What the app lifecycle needs from any server it runs (Kratos's transport.Server + Endpointer):
// the HTTP and gRPC servers, and work of a service's own such as a queue consumer.

export interface Server {
  /** Starts listening (or working); resolves once it is. */
  start(): Promise<void>;
  /**
   * Stops accepting new calls, waits for in-flight ones up to `timeoutMs`, then
   * closes what is left. Safe to call twice.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /**
   * The stop is coming (the app's drain delay starts): calls are still served, but callers
   * are moved off this instance's connections where the transport can say so.
   */
  drain?(): void;
  /**
   * The advertised endpoint once listening, e.g. `http://10.0.0.5:8000` or `grpc://10.0.0.5:9000`.
   * A server that takes no calls (a worker) has none, and is not in the registry's entry.
   */
  endpoint?(): string | undefined;
}
