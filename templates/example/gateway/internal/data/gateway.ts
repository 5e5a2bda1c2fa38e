// GatewayRepo over the clients of the user and order services (tsk add client). Their
// errors pass through unchanged: USER_NOT_FOUND, INSUFFICIENT_STOCK..., and the clients'
// own 503 SERVICE_UNAVAILABLE naming the service when no instance of it answers.
import type { GatewayRepo } from '../biz/gateway.js';
import type { CreateOrderRequest, GetOrderRequest, OrderReply } from '../../api/order/v1/order.js';
import type { CreateUserRequest, GetUserRequest, UserReply } from '../../api/user/v1/user.js';
import type { Data } from './data.js';

export class GatewayRepoClients implements GatewayRepo {
  constructor(private readonly data: Data) {}

  createUser(request: CreateUserRequest): Promise<UserReply> {
    return this.data.clients.user.user.createUser(request);
  }

  getUser(request: GetUserRequest): Promise<UserReply> {
    return this.data.clients.user.user.getUser(request);
  }

  createOrder(request: CreateOrderRequest): Promise<OrderReply> {
    return this.data.clients.order.order.createOrder(request);
  }

  getOrder(request: GetOrderRequest): Promise<OrderReply> {
    return this.data.clients.order.order.getOrder(request);
  }
}
