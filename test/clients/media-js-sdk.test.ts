/**
 * Media with a real client: matrix-js-sdk uploads an avatar (`uploadContent`), sets it on its profile and as a
 * room's `m.room.avatar`; another client reads both and downloads the bytes through the authenticated v1 path and
 * the legacy v3 path (served there because this server runs with `enable_authenticated_media: false`).
 */
import { EventType, type MatrixClient } from "matrix-js-sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { OPEN_REGISTRATION } from "../api/client-support.js";
import { NO_LIMITS } from "../api/sync-support.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { loggedIn, signUp } from "./sdk-support.js";

forEachDatabase((kind) => {
  let server: TestServer;
  let alice: MatrixClient;
  let bob: MatrixClient;

  beforeAll(async () => {
    server = await startTestServer(await createTestDatabase(kind), {
      ...OPEN_REGISTRATION,
      ...NO_LIMITS,
      enable_authenticated_media: false,
    });
    alice = loggedIn(server.url, await signUp(server.url, "alice"));
    bob = loggedIn(server.url, await signUp(server.url, "bob"));
  }, 60_000);
  afterAll(() => server.close());

  it("an avatar uploaded by one client is set on the profile and a room, and downloaded by another", async () => {
    const image = Buffer.from(
      "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
      "latin1",
    );
    const { content_uri: mxc } = await alice.uploadContent(image, { name: "me.gif", type: "image/gif" });
    expect(mxc).toMatch(/^mxc:\/\//);
    await alice.setAvatarUrl(mxc);
    const { room_id: roomId } = await alice.createRoom({ invite: [bob.getUserId()!] });
    await alice.sendStateEvent(roomId, EventType.RoomAvatar, { url: mxc }, "");
    await bob.joinRoom(roomId);

    expect((await bob.getProfileInfo(alice.getUserId()!)).avatar_url).toBe(mxc);
    const avatar = (await bob.getStateEvent(roomId, EventType.RoomAvatar, "")) as { url: string };
    expect(avatar.url).toBe(mxc);

    const v1 = bob.mxcUrlToHttp(avatar.url, undefined, undefined, undefined, false, true, true)!;
    expect(v1).toContain("/_matrix/client/v1/media/download/");
    const authed = await fetch(v1, { headers: { authorization: `Bearer ${bob.getAccessToken()!}` } });
    expect(authed.status).toBe(200);
    expect(authed.headers.get("content-type")).toBe("image/gif");
    expect(Buffer.from(await authed.arrayBuffer()).equals(image)).toBe(true);

    const v3 = bob.mxcUrlToHttp(avatar.url)!;
    expect(v3).toContain("/_matrix/media/v3/download/");
    const legacy = await fetch(v3);
    expect(legacy.status).toBe(200);
    expect(Buffer.from(await legacy.arrayBuffer()).equals(image)).toBe(true);
  });
});
