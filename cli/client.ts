import type { Client } from '@temporalio/client';
import { connectClient } from '../adapters/temporal/connection';
import { CliError } from './exit-codes';

/** Runs `fn` with a Temporal client and always closes the connection, so the process can exit. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  try {
    client = await connectClient();
  } catch (e) {
    throw new CliError(`rotor: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}
