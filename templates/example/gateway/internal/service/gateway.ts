// Transport-facing implementation of gateway.v1.Gateway: the public HTTP API.
import type { Context } from '../pkg/transport/context.js';
import type { GatewayGRPCServer } from '../../api/gateway/v1/gateway_grpc.js';
import type { GatewayHTTPServer } from '../../api/gateway/v1/gateway_http.js';
import type { CreateOrderRequest, GetOrderRequest, OrderReply } from '../../api/order/v1/order.js';
import type { CreateUserRequest, GetUserRequest, UserReply } from '../../api/user/v1/user.js';
import type { GatewayUsecase } from '../biz/gateway.js';

export class GatewayService implements GatewayHTTPServer, GatewayGRPCServer {
  constructor(private readonly gateway: GatewayUsecase) {}

  createUser(_ctx: Context, request: CreateUserRequest): Promise<UserReply> {
    return this.gateway.repo.createUser(request);
  }

  getUser(_ctx: Context, request: GetUserRequest): Promise<UserReply> {
    return this.gateway.repo.getUser(request);
  }

  createOrder(_ctx: Context, request: CreateOrderRequest): Promise<OrderReply> {
    return this.gateway.placeOrder(request);
  }

  getOrder(_ctx: Context, request: GetOrderRequest): Promise<OrderReply> {
    return this.gateway.repo.getOrder(request);
  }
}
