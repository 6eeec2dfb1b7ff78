/**
 * @module The admin user list's sort columns, apart from the users store so the CLI can offer them as choices
 * without loading kysely.
 */

/** The columns the admin user list may be sorted by (Synapse's `order_by` values). */
export const USER_SORT_COLUMNS = [
  "name",
  "displayname",
  "is_guest",
  "admin",
  "deactivated",
  "user_type",
  "avatar_url",
  "shadow_banned",
  "creation_ts",
  "last_seen_ts",
  "locked",
] as const;
export type UserSortColumn = (typeof USER_SORT_COLUMNS)[number];
