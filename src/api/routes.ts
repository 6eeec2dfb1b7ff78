/**
 * @module Every route module, in one list the server mounts.
 */
import type { RouteModule } from "../http/server.js";
import { webRoutes } from "../http/static.js";
import { auditRoutes } from "./admin/audit.js";
import { consoleRoutes } from "./admin/console.js";
import { eventReportsRoutes } from "./admin/event-reports.js";
import { adminDevicesRoutes } from "./admin/devices.js";
import { importRoutes } from "./admin/import.js";
import { registerRoutes } from "./admin/register.js";
import { adminRegistrationTokensRoutes } from "./admin/registration-tokens.js";
import { adminRoomDeleteRoutes } from "./admin/room-delete.js";
import { adminRoomHistoryRoutes } from "./admin/room-history.js";
import { adminRoomMembershipRoutes } from "./admin/room-membership.js";
import { adminRoomsRoutes } from "./admin/rooms.js";
import { serverNoticesRoutes } from "./admin/server-notices.js";
import { serverVersionRoutes } from "./admin/server-version.js";
import { adminUserLookupRoutes } from "./admin/user-lookups.js";
import { adminUserOverridesRoutes } from "./admin/user-overrides.js";
import { adminUsersRoutes } from "./admin/users.js";
import { whoisRoutes } from "./admin/whois.js";
import { serverKeyRoutes } from "./federation/keys.js";
import { accountRoutes } from "./client/account.js";
import { threepidRoutes } from "./client/threepid.js";
import { accountDataRoutes, roomAccountDataRoutes } from "./client/account-data.js";
import { capabilitiesRoutes } from "./client/capabilities.js";
import { devicesRoutes } from "./client/devices.js";
import { directoryRoutes } from "./client/directory.js";
import { discoveryRoutes } from "./client/discovery.js";
import { filterRoutes } from "./client/filter.js";
import { healthRoutes } from "./client/health.js";
import { keysRoutes } from "./client/keys.js";
import { mediaRoutes } from "./client/media.js";
import { mediaThumbnailRoutes } from "./client/media-thumbnail.js";
import { mediaPreviewRoutes } from "./client/media-preview.js";
import { metricsRoutes } from "./client/metrics.js";
import { profileRoutes } from "./client/profile.js";
import { pushRulesRoutes } from "./client/push-rules.js";
import { pushersRoutes } from "./client/pushers.js";
import { adminPushersRoutes } from "./admin/pushers.js";
import { adminMediaRoutes } from "./admin/media.js";
import { registerClientRoutes } from "./client/register.js";
import { authFallbackRoutes } from "./client/auth-fallback.js";
import { consentRoutes } from "./client/consent.js";
import { roomEventRoutes } from "./client/room-events.js";
import { roomHistoryRoutes } from "./client/room-history.js";
import { roomRoutes } from "./client/rooms.js";
import { searchRoutes } from "./client/search.js";
import { sessionRoutes } from "./client/session.js";
import { ssoRoutes } from "./client/sso.js";
import { spacesRoutes } from "./client/spaces.js";
import { syncRoutes } from "./client/sync.js";
import { toDeviceRoutes } from "./client/to-device.js";
import { versionsRoutes } from "./client/versions.js";
import { voipRoutes } from "./client/voip.js";
import { crossSigningRoutes } from "./client/cross-signing.js";
import { keyBackupRoutes } from "./client/key-backup.js";
import { adminCrossSigningRoutes } from "./admin/cross-signing.js";
import { typingRoutes } from "./client/typing.js";
import { receiptRoutes } from "./client/receipts.js";
import { presenceRoutes } from "./client/presence.js";

export const ROUTES: RouteModule[] = [
  versionsRoutes,
  accountRoutes,
  threepidRoutes,
  devicesRoutes,
  profileRoutes,
  capabilitiesRoutes,
  discoveryRoutes,
  registerClientRoutes,
  authFallbackRoutes,
  consentRoutes,
  sessionRoutes,
  ssoRoutes,
  filterRoutes,
  accountDataRoutes,
  roomAccountDataRoutes,
  pushRulesRoutes,
  syncRoutes,
  roomRoutes,
  roomEventRoutes,
  roomHistoryRoutes,
  searchRoutes,
  spacesRoutes,
  directoryRoutes,
  keysRoutes,
  voipRoutes,
  mediaRoutes,
  mediaThumbnailRoutes,
  mediaPreviewRoutes,
  registerRoutes,
  serverVersionRoutes,
  adminUsersRoutes,
  adminUserOverridesRoutes,
  adminUserLookupRoutes,
  adminDevicesRoutes,
  adminRoomsRoutes,
  adminRoomDeleteRoutes,
  adminRoomHistoryRoutes,
  adminRoomMembershipRoutes,
  whoisRoutes,
  auditRoutes,
  eventReportsRoutes,
  serverNoticesRoutes,
  adminRegistrationTokensRoutes,
  importRoutes,
  consoleRoutes,
  healthRoutes,
  metricsRoutes,
  serverKeyRoutes,
  crossSigningRoutes,
  keyBackupRoutes,
  adminCrossSigningRoutes,
  toDeviceRoutes,
  pushersRoutes,
  adminPushersRoutes,
  adminMediaRoutes,
  typingRoutes,
  receiptRoutes,
  presenceRoutes,
  webRoutes(),
];
