// Transport-facing implementation of order.v1.Order (HTTP and gRPC).
import type { Context } from '../pkg/transport/context.js';
import type { OrderGRPCServer } from '../../api/order/v1/order_grpc.js';
import type { OrderHTTPServer } from '../../api/order/v1/order_http.js';
import type { CreateOrderRequest, GetOrderRequest, OrderReply } from '../../api/order/v1/order.js';
import type { OrderUsecase } from '../biz/order.js';

export class OrderService implements OrderHTTPServer, OrderGRPCServer {
  constructor(private readonly orders: OrderUsecase) {}

  async createOrder(_ctx: Context, request: CreateOrderRequest): Promise<OrderReply> {
    return this.orders.create(request.userId ?? '', request.productId ?? '', request.quantity ?? 0);
  }

  async getOrder(_ctx: Context, request: GetOrderRequest): Promise<OrderReply> {
    return this.orders.get(request.id ?? '');
  }
}
