/** Links between the console's pages for the things several pages name: users and rooms. */
import { Link } from "./App";
import { useConsole } from "./session";

export const userPath = (userId: string) => `users/${encodeURIComponent(userId)}`;
export const roomPath = (roomId: string) => `rooms/${encodeURIComponent(roomId)}`;
export const reportPath = (id: number) => `reports/${id}`;

/** The room's name, else its alias, else its ID: what a person recognises it by. */
export function roomLabel(r: { room_id: string; name: string | null; canonical_alias: string | null }): string {
  return r.name ?? r.canonical_alias ?? r.room_id;
}

/** A local user links to their page; another server's user has none here, so is plain text. */
export function UserLink({ userId }: { userId: string | null }) {
  const { server } = useConsole();
  if (userId === null) return <>–</>;
  if (!userId.endsWith(`:${server.server_name}`)) return <>{userId}</>;
  return <Link to={userPath(userId)}>{userId}</Link>;
}
