/**
 * @module Matrix user IDs: `@localpart:server_name`.
 */

/** Synapse's `MAX_USERID_LENGTH`. */
export const MAX_USERID_LENGTH = 255;

export function userIdFor(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

/** The localpart of a user ID of this server, or null if the ID is malformed or belongs elsewhere. */
export function localpartOf(userId: string, serverName: string): string | null {
  const suffix = `:${serverName}`;
  if (!userId.startsWith("@") || !userId.endsWith(suffix)) return null;
  return userId.slice(1, -suffix.length);
}
