/**
 * @module Filters of the client-server API (spec "Filtering"). Closed to guests (403 `M_GUEST_ACCESS_FORBIDDEN`), as
 * in Synapse.
 */
import { createFilter, getFilter, type CreateFilterResponse, type FilterJson } from "../../sync/filters.js";
import { requireNonGuest } from "../../http/auth.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { clientPaths } from "../../http/paths.js";
import { jsonObjectBody } from "../../http/request.js";
import type { RouteModule } from "../../http/server.js";

interface UserParams {
  userId: string;
}

interface FilterParams extends UserParams {
  filterId: string;
}

export const filterRoutes: RouteModule = (app, { accounts }) => {
  /**
   * # `POST /_matrix/client/v3/user/{userId}/filter`
   * - Only for yourself: another user is 403 `M_FORBIDDEN` "Cannot create filters for other users".
   * - The body must be a JSON object (400 `M_NOT_JSON` / `M_BAD_JSON`); fields the spec defines must have its types
   *   (400 `M_BAD_JSON`). Stored as sent; answers `{"filter_id": "<string>"}`.
   */
  for (const url of clientPaths("/user/:userId/filter")) {
    app.post<{ Params: UserParams }>(url, async (request): Promise<CreateFilterResponse> => {
      const requester = await requireNonGuest(request, accounts);
      if (request.params.userId !== requester.userId) {
        throw new MatrixError(ErrCode.Forbidden, "Cannot create filters for other users");
      }
      return createFilter(accounts, requester.userId, jsonObjectBody(request));
    });
  }

  /**
   * # `GET /_matrix/client/v3/user/{userId}/filter/{filterId}`
   * - Only for yourself (403 `M_FORBIDDEN` "Cannot get filters for other users"); the filter as uploaded, or 404
   *   `M_NOT_FOUND` "No such filter".
   */
  for (const url of clientPaths("/user/:userId/filter/:filterId")) {
    app.get<{ Params: FilterParams }>(url, async (request): Promise<FilterJson> => {
      const requester = await requireNonGuest(request, accounts);
      if (request.params.userId !== requester.userId) {
        throw new MatrixError(ErrCode.Forbidden, "Cannot get filters for other users");
      }
      return getFilter(accounts, requester.userId, request.params.filterId);
    });
  }
};
