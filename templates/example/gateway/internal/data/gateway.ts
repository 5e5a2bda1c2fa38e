// GatewayRepo over the clients of the user and order services (tsk add client). A service
// that no instance answers for becomes SERVICE_UNAVAILABLE, naming the service; every
// other error (USER_NOT_FOUND, INSUFFICIENT_STOCK...) passes through unchanged.
import type { GatewayRepo } from '../biz/gateway.js';
import type { CreateOrderRequest, GetOrderRequest, OrderReply } from '../../api/order/v1/order.js';
import type { CreateUserRequest, GetUserRequest, UserReply } from '../../api/user/v1/user.js';
import { errorServiceUnavailable } from '../../api/gateway/v1/error_reason_errors.js';
import { Reason } from '../pkg/errors/catalogue.js';
import { ServiceError } from '../pkg/errors/errors.js';
import type { Data } from './data.js';

/** Reasons the runtime's clients answer with when no instance of a service can be reached. */
const UNREACHABLE = new Set<string>([Reason.NO_ENDPOINT, Reason.UNAVAILABLE, Reason.CIRCUITBREAKER]);

async function from<T>(service: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ServiceError && err.code === 503 && UNREACHABLE.has(err.reason)) {
      throw errorServiceUnavailable(`the ${service} service is unavailable: ${err.message}`, { service });
    }
    throw err;
  }
}

export class GatewayRepoClients implements GatewayRepo {
  constructor(private readonly data: Data) {}

  createUser(request: CreateUserRequest): Promise<UserReply> {
    return from('user', this.data.clients.user.user.createUser(request));
  }

  getUser(request: GetUserRequest): Promise<UserReply> {
    return from('user', this.data.clients.user.user.getUser(request));
  }

  createOrder(request: CreateOrderRequest): Promise<OrderReply> {
    return from('order', this.data.clients.order.order.createOrder(request));
  }

  getOrder(request: GetOrderRequest): Promise<OrderReply> {
    return from('order', this.data.clients.order.order.getOrder(request));
  }
}
