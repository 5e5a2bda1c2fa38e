// How a config store is named on the command line (`etcd://...`, `consul://...`), and how it
// is shown: plain functions, for the CLI as well as the service, with no imports of their own.

export function isStoreUrl(entry: string): boolean {
  return /^(etcd|consul)(\+https)?:\/\//.test(entry);
}

/**
 * A store URL as lines and logs show it: without the user and password it may carry,
 * cut at the last `@` so a password with an unencoded `/` or `@` is not shown either.
 */
export function storeName(url: string): string {
  return url.replace(/^([a-z+]+:\/\/).*@/, '$1');
}
