// Transport-facing implementation of user.v1.User (HTTP and gRPC): messages in, business calls, messages out.
import type { Context } from '../pkg/transport/context.js';
import type { UserGRPCServer } from '../../api/user/v1/user_grpc.js';
import type { UserHTTPServer } from '../../api/user/v1/user_http.js';
import type { CreateUserRequest, GetUserRequest, UserReply } from '../../api/user/v1/user.js';
import type { UserUsecase } from '../biz/user.js';

export class UserService implements UserHTTPServer, UserGRPCServer {
  constructor(private readonly users: UserUsecase) {}

  async createUser(_ctx: Context, request: CreateUserRequest): Promise<UserReply> {
    return this.users.create(request.name ?? '', request.email ?? '');
  }

  async getUser(_ctx: Context, request: GetUserRequest): Promise<UserReply> {
    return this.users.get(request.id ?? '');
  }
}
