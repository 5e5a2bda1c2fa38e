export async function newProject(): Promise<void> {
  throw new Error('not yet');
}
