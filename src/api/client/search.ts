/**
 * @module Server-side search (spec "Server Side Search"). The rules live in src/rooms/search.ts. Closed to guests
 * (403 `M_GUEST_ACCESS_FORBIDDEN`), as in Synapse.
 */
import { requireNonGuest } from "../../http/auth.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";
import { search, type SearchResponse } from "../../rooms/search.js";

function firstString(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : undefined;
}

export const searchRoutes: RouteModule = (app, { accounts, rooms }) => {
  /**
   * # `POST /_matrix/client/v3/search`
   * - `search_categories.room_events` only: `search_term` (words match by prefix, `"a phrase"`, `-excluded`,
   *   `a or b`), `keys`, `filter` (a RoomEventFilter; its `limit` is the page, default 10, at most 100),
   *   `order_by` `rank` (default) or `recent`, `event_context`, `include_state`, `groupings`.
   * - Rooms the user is in, or left (up to their leave) and did not forget; each event through the history
   *   visibility rule. `next_batch` (query) continues a page; a bad one is 400 `M_INVALID_PARAM`.
   */
  for (const url of clientPaths("/search")) {
    app.post(url, async (request): Promise<SearchResponse> => {
      const requester = await requireNonGuest(request, accounts);
      return search(rooms, requester, jsonObjectBody(request), firstString(request.query, "next_batch"));
    });
  }
};
