/**
 * @module Every table store over one connection or transaction, and the way to run several writes atomically.
 */
import type { Kysely } from "kysely";
import { accessTokensStore, type AccessTokensStore } from "./access-tokens.js";
import type { Db } from "./database.js";
import { devicesStore, type DevicesStore } from "./devices.js";
import { registrationNoncesStore, type RegistrationNoncesStore } from "./registration-nonces.js";
import type { Database } from "./schema.js";
import { serverMetaStore, type ServerMetaStore } from "./server-meta.js";
import { uiAuthSessionsStore, type UiAuthSessionsStore } from "./ui-auth-sessions.js";
import { usersStore, type UsersStore } from "./users.js";

export interface Tables {
  users: UsersStore;
  devices: DevicesStore;
  accessTokens: AccessTokensStore;
  registrationNonces: RegistrationNoncesStore;
  uiAuthSessions: UiAuthSessionsStore;
  serverMeta: ServerMetaStore;
}

export interface Stores extends Tables {
  /** Runs `fn` in one transaction: either every write in it lands, or none does. */
  transaction<T>(fn: (tables: Tables) => Promise<T>): Promise<T>;
}

function tables(db: Kysely<Database>): Tables {
  return {
    users: usersStore(db),
    devices: devicesStore(db),
    accessTokens: accessTokensStore(db),
    registrationNonces: registrationNoncesStore(db),
    uiAuthSessions: uiAuthSessionsStore(db),
    serverMeta: serverMetaStore(db),
  };
}

export function createStores(db: Db): Stores {
  return {
    ...tables(db.kysely),
    transaction: (fn) => db.kysely.transaction().execute((trx) => fn(tables(trx))),
  };
}
