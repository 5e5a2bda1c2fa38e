// Business rules of orders: the buyer must exist (the user service says so) and the stock must suffice.
import type { Logger } from '../pkg/log/logger.js';
import {
  errorInsufficientStock,
  errorOrderNotFound,
  errorProductNotFound,
} from '../../api/order/v1/error_reason_errors.js';

export interface Order {
  id: string;
  userId: string;
  productId: string;
  quantity: number;
  userName: string;
}

/** What the business layer needs from storage and from the user service; internal/data implements it. */
export interface OrderRepo {
  /** The buyer's name; the user service's USER_NOT_FOUND passes through unchanged. */
  userName(userId: string): Promise<string>;
  /** Takes `quantity` items out of stock: `short` when there are fewer, `unknown` for a product not sold. */
  reserve(productId: string, quantity: number): Promise<'reserved' | 'short' | 'unknown'>;
  save(order: Omit<Order, 'id'>): Promise<Order>;
  find(id: string): Promise<Order | undefined>;
}

export class OrderUsecase {
  constructor(
    private readonly repo: OrderRepo,
    private readonly logger: Logger,
  ) {}

  async create(userId: string, productId: string, quantity: number): Promise<Order> {
    const userName = await this.repo.userName(userId);
    // The request's rules (order.proto) have made sure of a positive quantity.
    const reserved = await this.repo.reserve(productId, quantity);
    const product = { product_id: productId.slice(0, 80) };
    if (reserved === 'unknown')
      throw errorProductNotFound(`no product ${JSON.stringify(product.product_id)} is sold here`, product);
    if (reserved === 'short')
      throw errorInsufficientStock(`cannot order ${quantity} of ${JSON.stringify(product.product_id)}`, product);
    const order = await this.repo.save({ userId, productId, quantity, userName });
    this.logger.info({ id: order.id, userId }, 'order placed');
    return order;
  }

  async get(id: string): Promise<Order> {
    const order = await this.repo.find(id);
    if (!order) throw errorOrderNotFound(`order ${JSON.stringify(id.slice(0, 80))} not found`, { id: id.slice(0, 80) });
    return order;
  }
}
