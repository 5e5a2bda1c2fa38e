// OrderRepo: orders and stock in memory, buyers from the user service (tsk add client user).
// A user service that no instance answers for becomes SERVICE_UNAVAILABLE, naming it; its
// own errors (USER_NOT_FOUND...) pass through unchanged.
import type { Order, OrderRepo } from '../biz/order.js';
import { errorServiceUnavailable } from '../../api/order/v1/error_reason_errors.js';
import { Reason } from '../pkg/errors/catalogue.js';
import { ServiceError } from '../pkg/errors/errors.js';
import type { Data } from './data.js';

/** Reasons the runtime's clients answer with when no instance of a service can be reached. */
const UNREACHABLE = new Set<string>([Reason.NO_ENDPOINT, Reason.UNAVAILABLE, Reason.CIRCUITBREAKER]);

/** The shop's products and how many of each are in stock when the service starts. */
const INITIAL_STOCK: Record<string, number> = { book: 10, pen: 100, lamp: 2 };

export class OrderRepoData implements OrderRepo {
  private readonly orders = new Map<string, Order>();
  private readonly stock = new Map(Object.entries(INITIAL_STOCK));
  private nextId = 1;

  constructor(private readonly data: Data) {}

  async userName(userId: string): Promise<string> {
    // The client takes the trace of the request being served: no context to pass.
    try {
      const user = await this.data.clients.user.user.getUser({ id: userId });
      return user.name ?? '';
    } catch (err) {
      if (err instanceof ServiceError && err.code === 503 && UNREACHABLE.has(err.reason)) {
        throw errorServiceUnavailable(`the user service is unavailable: ${err.message}`, { service: 'user' });
      }
      throw err;
    }
  }

  async reserve(productId: string, quantity: number): Promise<boolean> {
    const left = this.stock.get(productId) ?? 0;
    if (left < quantity) return false;
    this.stock.set(productId, left - quantity);
    return true;
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
