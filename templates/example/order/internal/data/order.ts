// OrderRepo: orders and stock in memory, buyers from the user service (tsk add client user).
// The user service's errors pass through unchanged (USER_NOT_FOUND..., and the client's own
// 503 SERVICE_UNAVAILABLE naming it when no instance answers).
import type { Order, OrderRepo } from '../biz/order.js';
import type { Data } from './data.js';

/** The shop's products and how many of each are in stock when the service starts. */
const INITIAL_STOCK: Record<string, number> = { book: 10, pen: 100, lamp: 2 };

export class OrderRepoData implements OrderRepo {
  private readonly orders = new Map<string, Order>();
  private readonly stock = new Map(Object.entries(INITIAL_STOCK));
  private nextId = 1;

  constructor(private readonly data: Data) {}

  async userName(userId: string): Promise<string> {
    // The client takes the trace of the request being served: no context to pass.
    const user = await this.data.clients.user.user.getUser({ id: userId });
    return user.name ?? '';
  }

  async reserve(productId: string, quantity: number): Promise<'reserved' | 'short' | 'unknown'> {
    const left = this.stock.get(productId);
    if (left === undefined) return 'unknown';
    if (left < quantity) return 'short';
    this.stock.set(productId, left - quantity);
    return 'reserved';
  }

  async save(order: Omit<Order, 'id'>): Promise<Order> {
    const saved = { id: `o${this.nextId++}`, ...order };
    this.orders.set(saved.id, saved);
    return saved;
  }

  async find(id: string): Promise<Order | undefined> {
    return this.orders.get(id);
  }
}
