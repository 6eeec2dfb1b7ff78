/**
 * Media with a real client: matrix-js-sdk uploads an avatar (`uploadContent`), sets it on its profile and as a
 * room's `m.room.avatar`, and sends an image (`m.image`) in the room; another client reads them and downloads the
 * bytes and the image's thumbnails through the authenticated v1 path and the legacy v3 path (served there because
 * this server runs with `enable_authenticated_media: false`).
 */
import { EventType, MsgType, type MatrixClient } from "matrix-js-sdk";
import sharp from "sharp";
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

  it("an image sent in a room is downloaded by another client, and its thumbnails through v1 and v3", async () => {
    const image = await sharp({ create: { width: 1000, height: 750, channels: 3, background: "#3a7" } })
      .png()
      .toBuffer();
    const { content_uri: mxc } = await alice.uploadContent(image, { name: "photo.png", type: "image/png" });
    const { room_id: roomId } = await alice.createRoom({ invite: [bob.getUserId()!] });
    await bob.joinRoom(roomId);
    const { event_id: eventId } = await alice.sendMessage(roomId, {
      msgtype: MsgType.Image,
      body: "photo.png",
      url: mxc,
      info: { mimetype: "image/png", size: image.length, w: 1000, h: 750 },
    });

    const event = await bob.fetchRoomEvent(roomId, eventId);
    const content = event.content as { msgtype: string; url: string };
    expect(content.msgtype).toBe("m.image");
    expect(content.url).toBe(mxc);

    const auth = { headers: { authorization: `Bearer ${bob.getAccessToken()!}` } };
    const full = await fetch(bob.mxcUrlToHttp(content.url, undefined, undefined, undefined, false, true, true)!, auth);
    expect(full.status).toBe(200);
    expect(Buffer.from(await full.arrayBuffer()).equals(image)).toBe(true);

    const v1 = bob.mxcUrlToHttp(content.url, 96, 96, "scale", false, true, true)!;
    expect(v1).toContain("/_matrix/client/v1/media/thumbnail/");
    const v3 = bob.mxcUrlToHttp(content.url, 96, 96, "crop")!;
    expect(v3).toContain("/_matrix/media/v3/thumbnail/");
    for (const [url, init] of [
      [v1, auth],
      [v3, {}],
    ] as const) {
      const r = await fetch(url, init);
      expect(r.status, url).toBe(200);
      expect(r.headers.get("content-type"), url).toMatch(/^image\/(png|jpeg|webp)$/);
      const meta = await sharp(Buffer.from(await r.arrayBuffer())).metadata();
      // Smaller than the original, never enlarged, and at least the size asked for one side (Synapse's sizes).
      expect(meta.width, url).toBeLessThan(1000);
      expect(Math.max(meta.width, meta.height), url).toBeGreaterThanOrEqual(96);
    }
  });
});
