/**
 * @module The one error type of Gatehouse.
 *
 * Every refusal, whichever layer decides it (config, service, route), is a `MatrixError`. Its HTTP status comes
 * from `ERRCODE_STATUS`, a `Record` over the whole `ErrCode` enum, so adding an errcode without deciding its status
 * does not compile. A few Synapse errors use a status that differs from the errcode's usual one (for example
 * "HMAC incorrect" is 403 `M_UNKNOWN`); those pass `status` explicitly.
 */

export enum ErrCode {
  Unknown = "M_UNKNOWN",
  Unrecognized = "M_UNRECOGNIZED",
  Forbidden = "M_FORBIDDEN",
  NotFound = "M_NOT_FOUND",
  NotJson = "M_NOT_JSON",
  BadJson = "M_BAD_JSON",
  MissingParam = "M_MISSING_PARAM",
  InvalidParam = "M_INVALID_PARAM",
  TooLarge = "M_TOO_LARGE",
  MissingToken = "M_MISSING_TOKEN",
  UnknownToken = "M_UNKNOWN_TOKEN",
  UserLocked = "M_USER_LOCKED",
  UserDeactivated = "M_USER_DEACTIVATED",
  UserSuspended = "M_USER_SUSPENDED",
  InvalidUsername = "M_INVALID_USERNAME",
  UserInUse = "M_USER_IN_USE",
  Exclusive = "M_EXCLUSIVE",
  LimitExceeded = "M_LIMIT_EXCEEDED",
  Unauthorized = "M_UNAUTHORIZED",
  WeakPassword = "M_WEAK_PASSWORD",
  PasswordTooShort = "M_PASSWORD_TOO_SHORT",
  PasswordNoDigit = "M_PASSWORD_NO_DIGIT",
  PasswordNoSymbol = "M_PASSWORD_NO_SYMBOL",
  PasswordNoUppercase = "M_PASSWORD_NO_UPPERCASE",
  PasswordNoLowercase = "M_PASSWORD_NO_LOWERCASE",
  GuestAccessForbidden = "M_GUEST_ACCESS_FORBIDDEN",
  ThreepidInUse = "M_THREEPID_IN_USE",
  RoomInUse = "M_ROOM_IN_USE",
  BadAlias = "M_BAD_ALIAS",
  UnsupportedRoomVersion = "M_UNSUPPORTED_ROOM_VERSION",
  InvalidRoomState = "M_INVALID_ROOM_STATE",
  CannotLeaveServerNoticeRoom = "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM",
  InvalidSignature = "M_INVALID_SIGNATURE",
  WrongRoomKeysVersion = "M_WRONG_ROOM_KEYS_VERSION",
  ThreepidNotFound = "M_THREEPID_NOT_FOUND",
  NotYetUploaded = "M_NOT_YET_UPLOADED",
  CannotOverwriteMedia = "M_CANNOT_OVERWRITE_MEDIA",
  ResourceLimitExceeded = "M_RESOURCE_LIMIT_EXCEEDED",
  ThreepidDenied = "M_THREEPID_DENIED",
  ThreepidAuthFailed = "M_THREEPID_AUTH_FAILED",
  ThreepidMediumNotSupported = "M_THREEPID_MEDIUM_NOT_SUPPORTED",
  ConsentNotGiven = "M_CONSENT_NOT_GIVEN",
}

export const ERRCODE_STATUS: Record<ErrCode, number> = {
  [ErrCode.Unknown]: 400,
  [ErrCode.Unrecognized]: 404,
  [ErrCode.Forbidden]: 403,
  [ErrCode.NotFound]: 404,
  [ErrCode.NotJson]: 400,
  [ErrCode.BadJson]: 400,
  [ErrCode.MissingParam]: 400,
  [ErrCode.InvalidParam]: 400,
  [ErrCode.TooLarge]: 413,
  [ErrCode.MissingToken]: 401,
  [ErrCode.UnknownToken]: 401,
  [ErrCode.UserLocked]: 401,
  [ErrCode.UserDeactivated]: 403,
  [ErrCode.UserSuspended]: 403,
  [ErrCode.InvalidUsername]: 400,
  [ErrCode.UserInUse]: 400,
  [ErrCode.Exclusive]: 400,
  [ErrCode.LimitExceeded]: 429,
  [ErrCode.Unauthorized]: 401,
  [ErrCode.WeakPassword]: 400,
  [ErrCode.PasswordTooShort]: 400,
  [ErrCode.PasswordNoDigit]: 400,
  [ErrCode.PasswordNoSymbol]: 400,
  [ErrCode.PasswordNoUppercase]: 400,
  [ErrCode.PasswordNoLowercase]: 400,
  [ErrCode.GuestAccessForbidden]: 403,
  [ErrCode.ThreepidInUse]: 400,
  [ErrCode.RoomInUse]: 400,
  [ErrCode.BadAlias]: 400,
  [ErrCode.UnsupportedRoomVersion]: 400,
  [ErrCode.InvalidRoomState]: 400,
  [ErrCode.CannotLeaveServerNoticeRoom]: 403,
  [ErrCode.InvalidSignature]: 400,
  [ErrCode.WrongRoomKeysVersion]: 403,
  [ErrCode.ThreepidNotFound]: 400,
  [ErrCode.NotYetUploaded]: 504,
  [ErrCode.CannotOverwriteMedia]: 409,
  // Synapse's ResourceLimitError; the media upload quota answers it with 400, as Synapse's does.
  [ErrCode.ResourceLimitExceeded]: 403,
  [ErrCode.ThreepidDenied]: 403,
  [ErrCode.ThreepidAuthFailed]: 400,
  [ErrCode.ThreepidMediumNotSupported]: 400,
  [ErrCode.ConsentNotGiven]: 403,
};

/** The `{"errcode","error"}` body every refusal carries, plus any extra fields the spec defines for it. */
export interface MatrixErrorBody {
  errcode: string;
  error: string;
  [extra: string]: unknown;
}

export class MatrixError extends Error {
  readonly status: number;

  constructor(
    readonly errcode: ErrCode,
    message: string,
    options: { status?: number; extra?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = "MatrixError";
    this.status = options.status ?? ERRCODE_STATUS[errcode];
    this.extra = options.extra ?? {};
  }

  readonly extra: Record<string, unknown>;

  toJSON(): MatrixErrorBody {
    return { ...this.extra, errcode: this.errcode, error: this.message };
  }
}

export function isMatrixError(err: unknown): err is MatrixError {
  return err instanceof MatrixError;
}

/**
 * PostgreSQL cannot store NUL in text, SQLite can: one rule for both, applied where a client's string becomes a
 * stored value (path parameters, names, profile fields), so the same request gets the same answer on either.
 */
export function refuseNul(value: string, what: string): void {
  if (value.includes("\u0000"))
    throw new MatrixError(ErrCode.InvalidParam, `'${what}' must not contain NUL characters`);
}
