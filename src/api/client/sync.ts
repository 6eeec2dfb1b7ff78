/**
 * @module `/sync` of the client-server API (spec "Syncing"), a real long-poll.
 *
 * Each waiting request holds an `AbortController` that ends its wait when the client disconnects (so nothing is
 * left subscribed) or when the server stops (the server's `longPolls`, so shutdown does not wait out every client's
 * timeout).
 */
import { parseSyncParams, sync, type SyncResponse } from "../../sync/sync.js";
import { requireUser } from "../../http/auth.js";
import { sendConsentNoticeIfDue } from "../../rooms/consent-notice.js";
import { clientPaths } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";

export const syncRoutes: RouteModule = (app, { accounts, rooms, longPolls }) => {
  // An app built without the server's set (tests) still ends its waits when it closes.
  const waiting = longPolls ?? new Set<AbortController>();
  app.addHook("preClose", async () => {
    for (const controller of waiting) controller.abort();
  });

  /**
   * # `GET /_matrix/client/v3/sync`
   * - `filter`: inline JSON (starts with `{`; not JSON is 400 `M_NOT_JSON`) or a filter ID (unknown is 400
   *   `M_INVALID_PARAM` "No such filter").
   * - `since`: a `next_batch` of ours (anything else is 400 `M_INVALID_PARAM`); absent means an initial sync, which
   *   returns at once with all account data.
   * - `timeout` (ms, default 0, held at most 60 s): with `since`, nothing new holds the request until something of
   *   the user's changes (account data, their devices or device keys) or the time is up; then an empty delta with
   *   a fresh `next_batch`. A disconnected client's wait is dropped at once.
   * - `full_state=true` returns at once with everything; `set_presence` must be `online`, `offline` or
   *   `unavailable` (src/sync/presence.ts says what each does).
   * - A device's first incremental sync after an initial sync answers at once (src/sync/first-sync.ts).
   * - No to-device messages yet: that section is always empty.
   * - First, a user who has not accepted the current terms gets the consent server notice, once per version
   *   (`user_consent.server_notice_content`); a failure to send it is logged and does not fail the sync.
   */
  for (const url of clientPaths("/sync")) {
    app.get(url, async (request, reply): Promise<SyncResponse> => {
      const requester = await requireUser(request, accounts);
      if (rooms.consent !== null) {
        await sendConsentNoticeIfDue(rooms, requester.userId).catch((err: unknown) => {
          request.log.error({ err }, "Could not send the consent server notice");
        });
      }
      const params = await parseSyncParams(
        accounts,
        requester.userId,
        (request.query ?? {}) as Record<string, unknown>,
      );
      const controller = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableEnded) controller.abort();
      };
      reply.raw.once("close", onClose);
      // Gone before we started listening: no "close" will come.
      if (request.raw.socket.destroyed) controller.abort();
      waiting.add(controller);
      try {
        return await sync(accounts, requester, params, controller.signal);
      } finally {
        waiting.delete(controller);
        reply.raw.off("close", onClose);
      }
    });
  }
};
