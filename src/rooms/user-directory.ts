/**
 * @module `POST /user_directory/search` (Synapse's `UserDirectoryHandler.search_users` and `search_user_dir`).
 *
 * Who can be found: local accounts that are not deactivated, locked or support users, and, unless
 * `user_directory.search_all_users`, only those who share a joined room with the searcher or are joined to a
 * public room (join rule `public`, or history `world_readable`). With `search_all_users` everyone but the searcher.
 *
 * How a term matches, as Synapse's full-text search does: the term and each user's ID and display name are
 * lower-cased and NFKC-normalised and split into words (runs of letters, digits, `_` and `-`); every word of the
 * term must begin some word of the user's localpart, server name or display name. Results are ranked like
 * Synapse's: a whole-word match counts four times a prefix, a localpart word counts more than a display name word and
 * far more than the server name, and users with a display name, then an avatar, come first. Nothing is indexed
 * beyond the accounts table: the substring indexes of the admin user search (migration 0005) find candidates, which
 * are then held to the word rule and to visibility.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { DirectoryUser } from "../db/users.js";
import type { RoomsContext } from "./context.js";
import { publiclyJoinableOrReadable } from "./room-summary.js";

/** Synapse reads at most this many full-text matches before ranking them. */
const MAX_CANDIDATES = 10_000;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;

export interface UserSearchResult {
  user_id: string;
  display_name?: string;
  avatar_url?: string;
}

/** Synapse's `_parse_words_with_regex` after `_filter_text_for_index`. */
export function searchWords(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize("NFKC")
      .match(/[\p{L}\p{N}\p{M}_-]+/gu) ?? []
  );
}

interface Field {
  words: string[];
  weight: number;
}

function fieldsOf(user: DirectoryUser): Field[] {
  const colon = user.userId.lastIndexOf(":");
  return [
    { words: searchWords(user.userId.slice(1, colon)), weight: 1.0 },
    { words: searchWords(user.displayName ?? ""), weight: 0.9 },
    { words: searchWords(user.userId.slice(colon + 1)), weight: 0.1 },
  ];
}

/** Null when some term word begins no word of the user; else the rank (higher first). */
function rank(user: DirectoryUser, terms: string[]): number | null {
  const fields = fieldsOf(user);
  let score = 0;
  for (const term of terms) {
    let best = 0;
    for (const f of fields) {
      for (const w of f.words) {
        if (w.startsWith(term)) best = Math.max(best, f.weight * (w === term ? 4 : 1));
      }
    }
    if (best === 0) return null;
    score += best;
  }
  return score * (user.displayName !== null ? 1.2 : 1) * (user.avatarUrl !== null ? 1.2 : 1);
}

/** The request's `limit`: Synapse's `int(limit)` clamped to 0..50, 10 when absent. */
export function parseLimit(v: unknown): number {
  if (v === undefined || v === null) return DEFAULT_LIMIT;
  const n =
    typeof v === "number" ? Math.trunc(v) : typeof v === "string" && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new MatrixError(ErrCode.InvalidParam, "'limit' must be an integer");
  return Math.max(0, Math.min(n, MAX_LIMIT));
}

/** Which of `users` `searcher` may find: sharing a joined room with them, or joined to a public room. */
async function visibleTo(ctx: RoomsContext, searcher: string, users: DirectoryUser[]): Promise<Set<string>> {
  const ids = users.map((u) => u.userId);
  const visible = await ctx.stores.roomMemberships.sharingARoomWith(searcher, ids);
  const rest = ids.filter((id) => !visible.has(id));
  const memberships = await ctx.stores.roomMemberships.joinedRoomsOf(rest);
  const open = await publiclyJoinableOrReadable(ctx.stores, [...new Set(memberships.map((m) => m.roomId))]);
  for (const m of memberships) if (open.has(m.roomId)) visible.add(m.userId);
  return visible;
}

export async function searchUserDirectory(
  ctx: RoomsContext,
  searcher: string,
  searchTerm: string,
  limit: number,
): Promise<{ limited: boolean; results: UserSearchResult[] }> {
  const terms = searchWords(searchTerm);
  if (terms.length === 0) return { limited: false, results: [] };
  // A word that begins a word of the server name matches every local user: it cannot narrow the query.
  const serverWords = searchWords(ctx.serverName);
  const narrowing = terms.filter((t) => !serverWords.some((w) => w.startsWith(t)));
  const all = ctx.directory.userDirectory.search_all_users;
  const candidates = await ctx.stores.users.directoryCandidates(narrowing, MAX_CANDIDATES, all ? searcher : null);
  const ranked: { user: DirectoryUser; score: number }[] = [];
  for (const user of candidates) {
    const score = rank(user, terms);
    if (score !== null) ranked.push({ user, score });
  }
  const visible = all
    ? null
    : await visibleTo(
        ctx,
        searcher,
        ranked.map((r) => r.user),
      );
  const found = ranked
    .filter((r) => visible === null || visible.has(r.user.userId))
    .sort(
      (a, b) =>
        b.score - a.score ||
        Number(a.user.displayName === null) - Number(b.user.displayName === null) ||
        Number(a.user.avatarUrl === null) - Number(b.user.avatarUrl === null) ||
        (a.user.userId < b.user.userId ? -1 : 1),
    );
  return {
    limited: found.length > limit,
    results: found.slice(0, limit).map(({ user }) => {
      const r: UserSearchResult = { user_id: user.userId };
      if (user.displayName !== null) r.display_name = user.displayName;
      if (user.avatarUrl !== null) r.avatar_url = user.avatarUrl;
      return r;
    }),
  };
}
