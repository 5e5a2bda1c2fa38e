// The in-memory GreeterRepo. Same interface as a real database-backed one would have.
// It keeps at most `maxUsers` names, forgetting the least recently used first, so a
// stream of distinct names cannot grow the process without bound.
import type { Greeted, GreeterRepo } from '../biz/greeter.js';
import type { Data } from './data.js';

export class GreeterRepoInMemory implements GreeterRepo {
  // Only the user table: the repository needs nothing else of the data layer.
  constructor(
    private readonly data: Pick<Data, 'users'>,
    private readonly maxUsers = 10_000,
  ) {}

  async recordGreeting(name: string): Promise<Greeted> {
    const users = this.data.users;
    const greetCount = (users.get(name) ?? 0) + 1;
    // A Map iterates in insertion order: re-inserting makes `name` the most recent.
    users.delete(name);
    users.set(name, greetCount);
    while (users.size > this.maxUsers) users.delete(users.keys().next().value!);
    return { name, greetCount };
  }

  async find(name: string): Promise<Greeted | undefined> {
    const greetCount = this.data.users.get(name);
    return greetCount === undefined ? undefined : { name, greetCount };
  }
}
