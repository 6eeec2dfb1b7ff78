/**
 * @module The bulk import's wire types and limits, apart from the import itself so that the CLI can speak them over
 * HTTP without loading the database code (`gatehouse user import --url …` starts faster).
 */

export type OnConflict = "skip" | "update" | "stop";
export const ON_CONFLICT: readonly OnConflict[] = ["skip", "update", "stop"];

/** One account to import. An empty string or null in an optional field means "not given". */
export interface ImportRow {
  /** Where the row is in the file, for messages; any number the caller likes. */
  line: number;
  /** A localpart, or a full user ID of this server. */
  username: string;
  password?: string | null;
  password_hash?: string | null;
  displayname?: string | null;
  /** true/false, or the text true/false/1/0/yes/no (any case). */
  admin?: boolean | string | null;
  email?: string | null;
}

export interface ImportOptions {
  dryRun: boolean;
  onConflict: OnConflict;
}

export type ImportOutcome =
  "created" | "updated" | "skipped" | "would_create" | "would_update" | "would_skip" | "error";

export interface ImportRowResult {
  line: number;
  /** Null when the username could not be read as one of this server's. */
  user_id: string | null;
  outcome: ImportOutcome;
  errcode?: string;
  error?: string;
}

export interface ImportBatchResult {
  /** One per row, in order; with `stop`, none for the rows after the one that stopped it. */
  results: ImportRowResult[];
  /** True when `stop` ended the import at a bad row or conflict (the last result). */
  stopped: boolean;
}

/** Rows per request to the endpoint (and per batch from the CLI): a batch answers in seconds, its body stays small. */
export const MAX_IMPORT_ROWS = 10_000;
