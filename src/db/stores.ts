/**
 * @module Every table store over one connection or transaction, and the way to run several writes atomically.
 */
import type { Kysely } from "kysely";
import { accessTokensStore, type AccessTokensStore } from "./access-tokens.js";
import { accountDataStore, type AccountDataStore } from "./account-data.js";
import { adminAuditStore, type AdminAuditStore } from "./admin-audit.js";
import { countersStore, type CountersStore } from "./counters.js";
import { newOrigin, sendNotice, SESSIONS_CHANNEL } from "./notify.js";
import { loginTokensStore, type LoginTokensStore } from "./login-tokens.js";
import { refreshTokensStore, type RefreshTokensStore } from "./refresh-tokens.js";
import { registrationTokensStore, type RegistrationTokensStore } from "./registration-tokens.js";
import type { Db, Dialect } from "./database.js";
import { deviceKeysStore, type DeviceKeysStore } from "./device-keys.js";
import { deviceListChangesStore, type DeviceListChangesStore } from "./device-list-changes.js";
import { devicesStore, type DevicesStore } from "./devices.js";
import { oneTimeKeysStore, type OneTimeKeysStore } from "./one-time-keys.js";
import { registrationNoncesStore, type RegistrationNoncesStore } from "./registration-nonces.js";
import { captchaUsedChallengesStore, type CaptchaUsedChallengesStore } from "./captcha-used-challenges.js";
import type { Database } from "./schema.js";
import { serverMetaStore, type ServerMetaStore } from "./server-meta.js";
import { uiAuthSessionsStore, type UiAuthSessionsStore } from "./ui-auth-sessions.js";
import { userCountsStore, type UserCountsStore } from "./user-counts.js";
import { userFiltersStore, type UserFiltersStore } from "./user-filters.js";
import { externalIdsStore, threepidsStore, type ExternalIdsStore, type ThreepidsStore } from "./user-threepids.js";
import { usersStore, type UsersStore } from "./users.js";
import { roomsStore, type RoomsStore } from "./rooms.js";
import { eventsStore, type EventsStore } from "./events.js";
import { eventSearchStore, type EventSearchStore } from "./event-search.js";
import { roomStateStore, type RoomStateStore } from "./room-state.js";
import { currentStateStore, type CurrentStateStore } from "./current-state.js";
import { roomMembershipsStore, type RoomMembershipsStore } from "./room-memberships.js";
import { eventTxnsStore, type EventTxnsStore } from "./event-txns.js";
import { roomAliasesStore, type RoomAliasesStore } from "./room-aliases.js";
import { roomAccountDataStore, type RoomAccountDataStore } from "./room-account-data.js";
import { blockedRoomsStore, type BlockedRoomsStore } from "./blocked-rooms.js";
import { roomDeletionsStore, type RoomDeletionsStore } from "./room-deletions.js";
import { roomStatsStore, type RoomStatsStore } from "./room-stats.js";
import { roomPurgeStore, type RoomPurgeStore } from "./room-purge.js";
import { memberEventsStore, type MemberEventsStore } from "./member-events.js";
import { eventReportsStore, type EventReportsStore } from "./event-reports.js";
import { ratelimitOverridesStore, type RatelimitOverridesStore } from "./ratelimit-overrides.js";
import { experimentalFeaturesStore, type ExperimentalFeaturesStore } from "./experimental-features.js";
import { toDeviceMessagesStore, type ToDeviceMessagesStore } from "./to-device-messages.js";
import { toDeviceTxnsStore, type ToDeviceTxnsStore } from "./to-device-txns.js";
import { crossSigningKeysStore, type CrossSigningKeysStore } from "./cross-signing-keys.js";
import { deviceSignaturesStore, type DeviceSignaturesStore } from "./device-signatures.js";
import { crossSigningSignaturesStore, type CrossSigningSignaturesStore } from "./cross-signing-signatures.js";
import { roomKeyBackupVersionsStore, type RoomKeyBackupVersionsStore } from "./room-key-backup-versions.js";
import { roomKeyBackupKeysStore, type RoomKeyBackupKeysStore } from "./room-key-backup-keys.js";
import { pushRulesStore, type PushRulesStore } from "./push-rules.js";
import { eventPushActionsStore, type EventPushActionsStore } from "./event-push-actions.js";
import { pushersStore, type PushersStore } from "./pushers.js";
import { typingStore, type TypingStore } from "./typing.js";
import { receiptsStore, type ReceiptsStore } from "./receipts.js";
import { presenceStore, type PresenceStore } from "./presence.js";
import { deviceInitialSyncsStore, type DeviceInitialSyncsStore } from "./device-initial-syncs.js";
import { localMediaStore, mediaThumbnailsStore, type LocalMediaStore, type MediaThumbnailsStore } from "./media.js";
import { mediaAdminStore, type MediaAdminStore } from "./media-admin.js";
import { urlCacheStore, type UrlCacheStore } from "./url-cache.js";
import { threepidValidationStore, type ThreepidValidationStore } from "./threepid-validation.js";
import { emailOutboxStore, type EmailOutboxStore } from "./email-outbox.js";

export interface Tables {
  users: UsersStore;
  devices: DevicesStore;
  accessTokens: AccessTokensStore;
  registrationNonces: RegistrationNoncesStore;
  captchaUsedChallenges: CaptchaUsedChallengesStore;
  uiAuthSessions: UiAuthSessionsStore;
  serverMeta: ServerMetaStore;
  registrationTokens: RegistrationTokensStore;
  refreshTokens: RefreshTokensStore;
  loginTokens: LoginTokensStore;
  counters: CountersStore;
  userFilters: UserFiltersStore;
  accountData: AccountDataStore;
  deviceKeys: DeviceKeysStore;
  oneTimeKeys: OneTimeKeysStore;
  deviceListChanges: DeviceListChangesStore;
  adminAudit: AdminAuditStore;
  threepids: ThreepidsStore;
  externalIds: ExternalIdsStore;
  userCounts: UserCountsStore;
  rooms: RoomsStore;
  events: EventsStore;
  eventSearch: EventSearchStore;
  roomState: RoomStateStore;
  currentState: CurrentStateStore;
  roomMemberships: RoomMembershipsStore;
  eventTxns: EventTxnsStore;
  roomAliases: RoomAliasesStore;
  roomAccountData: RoomAccountDataStore;
  blockedRooms: BlockedRoomsStore;
  roomDeletions: RoomDeletionsStore;
  roomStats: RoomStatsStore;
  roomPurge: RoomPurgeStore;
  memberEvents: MemberEventsStore;
  eventReports: EventReportsStore;
  ratelimitOverrides: RatelimitOverridesStore;
  experimentalFeatures: ExperimentalFeaturesStore;
  toDeviceMessages: ToDeviceMessagesStore;
  toDeviceTxns: ToDeviceTxnsStore;
  crossSigningKeys: CrossSigningKeysStore;
  deviceSignatures: DeviceSignaturesStore;
  crossSigningSignatures: CrossSigningSignaturesStore;
  roomKeyBackupVersions: RoomKeyBackupVersionsStore;
  roomKeyBackupKeys: RoomKeyBackupKeysStore;
  pushRules: PushRulesStore;
  eventPushActions: EventPushActionsStore;
  pushers: PushersStore;
  typing: TypingStore;
  receipts: ReceiptsStore;
  presence: PresenceStore;
  deviceInitialSyncs: DeviceInitialSyncsStore;
  localMedia: LocalMediaStore;
  mediaThumbnails: MediaThumbnailsStore;
  mediaAdmin: MediaAdminStore;
  urlCache: UrlCacheStore;
  threepidValidation: ThreepidValidationStore;
  emailOutbox: EmailOutboxStore;
}

export interface Stores extends Tables {
  /** Runs `fn` in one transaction: either every write in it lands, or none does. */
  transaction<T>(fn: (tables: Tables) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` after every committed write that can end or alter an authenticated session: an access token
   * or device deleted, an account deactivated, locked, suspended, shadow-banned or made (or unmade) an admin.
   * Caches of "who is this token" subscribe here, so no caller can forget to invalidate them. A new store method of
   * that kind must be listed in `announcing` below.
   */
  onSessionsChanged(listener: () => void): void;
  /**
   * Calls `listener` with the user after each committed write that a `/sync` reports (account data, device keys, the
   * device list), until the returned function is called: the server's notifier wakes that user's waiting syncs, and
   * on PostgreSQL a relay tells other processes. Announced by `withNewPosition` (src/sync/stream.ts), the one way
   * such writes are made, so none can forget to. A listener must not throw.
   */
  onSyncChanged(listener: (userId: string) => void): () => void;
  /** Tells every `onSyncChanged` listener; call only after the write has committed. */
  syncChanged(userId: string): void;
  /**
   * Names these stores in the change notices they send other processes on PostgreSQL (`src/db/notify.ts`), so a
   * listener can skip its own.
   */
  readonly origin: string;
}

/** Wraps the methods that end or alter sessions so that each, once it has run, calls `changed`. */
function announcing(t: Tables, changed: () => void | Promise<void>): Tables {
  const after =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const r = await f(...args);
      await changed();
      return r;
    };
  const { accessTokens: at, devices: dv, users: us } = t;
  return {
    ...t,
    accessTokens: {
      ...at,
      deleteByHash: after(at.deleteByHash.bind(at)),
      deleteForUser: after(at.deleteForUser.bind(at)),
      deleteForDevice: after(at.deleteForDevice.bind(at)),
      deleteByRefreshHash: after(at.deleteByRefreshHash.bind(at)),
    },
    devices: { ...dv, delete: after(dv.delete.bind(dv)) },
    users: {
      ...us,
      setDeactivated: after(us.setDeactivated.bind(us)),
      setLocked: after(us.setLocked.bind(us)),
      setAdmin: after(us.setAdmin.bind(us)),
      setSuspended: after(us.setSuspended.bind(us)),
      setShadowBanned: after(us.setShadowBanned.bind(us)),
    },
  };
}

function tables(db: Kysely<Database>, dialect: Dialect): Tables {
  return {
    users: usersStore(db),
    devices: devicesStore(db),
    accessTokens: accessTokensStore(db),
    registrationNonces: registrationNoncesStore(db),
    captchaUsedChallenges: captchaUsedChallengesStore(db),
    uiAuthSessions: uiAuthSessionsStore(db),
    serverMeta: serverMetaStore(db),
    registrationTokens: registrationTokensStore(db),
    refreshTokens: refreshTokensStore(db),
    loginTokens: loginTokensStore(db),
    counters: countersStore(db),
    userFilters: userFiltersStore(db),
    accountData: accountDataStore(db),
    deviceKeys: deviceKeysStore(db),
    oneTimeKeys: oneTimeKeysStore(db),
    deviceListChanges: deviceListChangesStore(db),
    adminAudit: adminAuditStore(db),
    threepids: threepidsStore(db),
    externalIds: externalIdsStore(db),
    userCounts: userCountsStore(db),
    rooms: roomsStore(db),
    events: eventsStore(db, dialect),
    eventSearch: eventSearchStore(db),
    roomState: roomStateStore(db),
    currentState: currentStateStore(db),
    roomMemberships: roomMembershipsStore(db),
    eventTxns: eventTxnsStore(db),
    roomAliases: roomAliasesStore(db),
    roomAccountData: roomAccountDataStore(db),
    blockedRooms: blockedRoomsStore(db),
    roomDeletions: roomDeletionsStore(db),
    roomStats: roomStatsStore(db),
    roomPurge: roomPurgeStore(db),
    memberEvents: memberEventsStore(db),
    eventReports: eventReportsStore(db),
    ratelimitOverrides: ratelimitOverridesStore(db),
    experimentalFeatures: experimentalFeaturesStore(db),
    toDeviceMessages: toDeviceMessagesStore(db),
    toDeviceTxns: toDeviceTxnsStore(db),
    crossSigningKeys: crossSigningKeysStore(db),
    deviceSignatures: deviceSignaturesStore(db),
    crossSigningSignatures: crossSigningSignaturesStore(db),
    roomKeyBackupVersions: roomKeyBackupVersionsStore(db),
    roomKeyBackupKeys: roomKeyBackupKeysStore(db),
    pushRules: pushRulesStore(db),
    eventPushActions: eventPushActionsStore(db, dialect),
    pushers: pushersStore(db),
    typing: typingStore(db),
    receipts: receiptsStore(db),
    presence: presenceStore(db),
    deviceInitialSyncs: deviceInitialSyncsStore(db),
    localMedia: localMediaStore(db),
    mediaThumbnails: mediaThumbnailsStore(db),
    mediaAdmin: mediaAdminStore(db),
    urlCache: urlCacheStore(db),
    threepidValidation: threepidValidationStore(db),
    emailOutbox: emailOutboxStore(db),
  };
}

export function createStores(db: Db): Stores {
  const listeners: (() => void)[] = [];
  const syncListeners = new Set<(userId: string) => void>();
  const origin = newOrigin();
  const postgres = db.dialect === "postgres";
  const notify = () => {
    for (const l of listeners) l();
  };
  const notifyAll = async () => {
    notify();
    // Other processes' caches are also bounded by their lifetime, so a notice lost here delays them, never more.
    if (postgres) await sendNotice(db.kysely, SESSIONS_CHANNEL, origin).catch(() => {});
  };
  return {
    ...announcing(tables(db.kysely, db.dialect), notifyAll),
    transaction: async (fn) => {
      // Inside a transaction the change is announced after commit, so nobody re-reads the old state in between.
      const seen = { changed: false };
      const result = await db.kysely.transaction().execute(async (trx) => {
        const r = await fn(announcing(tables(trx, db.dialect), () => void (seen.changed = true)));
        // Sent inside the transaction: PostgreSQL delivers it at commit, and drops it on rollback.
        if (seen.changed && postgres) await sendNotice(trx, SESSIONS_CHANNEL, origin);
        return r;
      });
      if (seen.changed) notify();
      return result;
    },
    onSessionsChanged: (listener) => void listeners.push(listener),
    onSyncChanged: (listener) => {
      syncListeners.add(listener);
      return () => void syncListeners.delete(listener);
    },
    syncChanged: (userId) => {
      for (const l of syncListeners) l(userId);
    },
    origin,
  };
}
