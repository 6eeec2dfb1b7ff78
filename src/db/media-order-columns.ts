/**
 * @module The admin media list's sort columns, apart from the media stores so the CLI can offer them as choices
 * without loading kysely.
 */

/** Synapse's `MediaSortOrder`: the columns a user's media list can be ordered by. */
export const MEDIA_ORDER_COLUMNS = [
  "media_id",
  "upload_name",
  "created_ts",
  "last_access_ts",
  "media_length",
  "media_type",
  "quarantined_by",
  "safe_from_quarantine",
] as const;
export type MediaOrderColumn = (typeof MEDIA_ORDER_COLUMNS)[number];
