// What the gateway offers its callers, independent of how the services behind it are reached.
import type { Logger } from '../pkg/log/logger.js';
import type { CreateOrderRequest, GetOrderRequest, OrderReply } from '../../api/order/v1/order.js';
import type { CreateUserRequest, GetUserRequest, UserReply } from '../../api/user/v1/user.js';

/** The services behind the gateway; internal/data implements it with their clients. */
export interface GatewayRepo {
  createUser(request: CreateUserRequest): Promise<UserReply>;
  getUser(request: GetUserRequest): Promise<UserReply>;
  createOrder(request: CreateOrderRequest): Promise<OrderReply>;
  getOrder(request: GetOrderRequest): Promise<OrderReply>;
}

export class GatewayUsecase {
  constructor(
    readonly repo: GatewayRepo,
    private readonly logger: Logger,
  ) {}

  async placeOrder(request: CreateOrderRequest): Promise<OrderReply> {
    const order = await this.repo.createOrder(request);
    this.logger.debug({ id: order.id }, 'order placed through the gateway');
    return order;
  }
}
