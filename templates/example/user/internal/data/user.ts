// The in-memory UserRepo; a database-backed one keeps the same interface.
import type { User, UserRepo } from '../biz/user.js';

export class UserRepoInMemory implements UserRepo {
  private readonly users = new Map<string, User>();
  private nextId = 1;

  async save(name: string, email: string): Promise<User> {
    const user = { id: `u${this.nextId++}`, name, email };
    this.users.set(user.id, user);
    return user;
  }

  async findById(id: string): Promise<User | undefined> {
    return this.users.get(id);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    for (const user of this.users.values()) if (user.email === email) return user;
    return undefined;
  }
}
