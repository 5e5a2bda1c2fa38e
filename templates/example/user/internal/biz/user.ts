// Business rules of users, independent of transports and storage.
import type { Logger } from '../pkg/log/logger.js';
import {
  errorInvalidUserInput,
  errorUserAlreadyExists,
  errorUserNotFound,
} from '../../api/user/v1/error_reason_errors.js';

export interface User {
  id: string;
  name: string;
  email: string;
}

/** What the business layer needs from storage; internal/data implements it. */
export interface UserRepo {
  save(name: string, email: string): Promise<User>;
  findById(id: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<User | undefined>;
}

const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,190}$/;

export class UserUsecase {
  constructor(
    private readonly repo: UserRepo,
    private readonly logger: Logger,
  ) {}

  async create(name: string, email: string): Promise<User> {
    if (name.trim() === '' || name.length > 100) throw errorInvalidUserInput('name must have 1 to 100 characters');
    if (!EMAIL.test(email)) throw errorInvalidUserInput(`invalid email ${JSON.stringify(email.slice(0, 80))}`);
    if (await this.repo.findByEmail(email))
      throw errorUserAlreadyExists(`a user with email ${email} exists`, { email });
    const user = await this.repo.save(name, email);
    this.logger.info({ id: user.id }, 'user created');
    return user;
  }

  async get(id: string): Promise<User> {
    const user = await this.repo.findById(id);
    if (!user) throw errorUserNotFound(`user ${JSON.stringify(id.slice(0, 80))} not found`, { id: id.slice(0, 80) });
    return user;
  }
}
