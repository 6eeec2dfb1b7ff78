/**
 * The console's Rooms and Reports screens in headless Chromium against a real server, over rooms that users made,
 * joined, wrote in and reported through the client API: list, search and sort rooms; a room's details, members and
 * state; block and unblock; make room admin; delete with a notice room, following the status to the end; reports
 * listed, filtered, opened and deleted; a user's rooms on their page; errors and empty lists; phone width.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCall, joinRoom, makeRoom, ROOM_ADMIN_CONFIG, type Member } from "../admin/rooms-support.js";
import { call } from "../helpers/http.js";
import { launchBrowser, openPage, type WatchedPage } from "./browser.js";
import { ADMIN_PASSWORD, closeAll, NO_SIDEWAYS_SCROLL, startWebFixture, type WebFixture } from "./support.js";

const CONSOLE = "/_gatehouse/admin/";
const ROOT = "@root:localhost";

let fx: WebFixture;
let browser: Browser;
let alice: Member;
let bob: Member;
let garden: string;
let books: string;
let doomed: string;
let spam: string;
const opened: WatchedPage[] = [];

async function member(localpart: string): Promise<Member> {
  const password = `${localpart} password 1`;
  await fx.makeUser(localpart, password);
  const r = await call(fx.url, "POST", "/_matrix/client/v3/login", {
    json: { type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password },
  });
  expect(r.status, r.text).toBe(200);
  return { userId: r.body.user_id as string, token: r.body.access_token as string };
}

beforeAll(async () => {
  [fx, browser] = await Promise.all([startWebFixture("sqlite", ROOM_ADMIN_CONFIG), launchBrowser()]);
  [alice, bob] = await Promise.all([member("alice"), member("bob")]);
  garden = await makeRoom(fx.url, alice, {
    name: "Gardening club",
    topic: "Seeds and soil",
    room_alias_name: "garden",
    preset: "public_chat",
    visibility: "public",
  });
  await joinRoom(fx.url, bob, garden);
  books = await makeRoom(fx.url, alice, { name: "Book circle", preset: "private_chat" });
  doomed = await makeRoom(fx.url, bob, { name: "Doomed room", preset: "private_chat" });
  spam = (
    await clientCall(fx.url, alice, "PUT", `/rooms/${encodeURIComponent(garden)}/send/m.room.message/t1`, {
      msgtype: "m.text",
      body: "Cheap pills, click here",
    })
  ).event_id as string;
});

afterAll(async () => {
  await closeAll(browser, fx);
});

let shared: Page | undefined;

/** The logged-in desktop page the tests share (one login for the file). */
async function desktop(): Promise<Page> {
  shared ??= await consolePage();
  return shared;
}

/** A logged-in console page. */
async function consolePage(options: { width?: number; height?: number } = {}): Promise<Page> {
  const watched = await openPage(browser, options);
  opened.push(watched);
  const p = watched.page;
  await p.goto(fx.url + CONSOLE);
  await p.getByLabel("Username").fill("root");
  await p.getByLabel("Password").fill(ADMIN_PASSWORD);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.getByRole("heading", { name: "Dashboard" }).waitFor();
  return p;
}

function section(p: Page, name: string) {
  return p.getByRole("navigation").getByRole("link", { name, exact: true });
}

async function open(p: Page, path: string, heading: string): Promise<void> {
  await p.goto(fx.url + CONSOLE + path);
  await p.getByRole("heading", { name: heading }).waitFor();
}

const roomPath = (roomId: string) => `rooms/${encodeURIComponent(roomId)}`;
const adminRoom = (roomId: string, rest = "") => `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}${rest}`;

/** The names in the room table, top to bottom. */
async function listedRooms(p: Page): Promise<string[]> {
  return p.getByRole("table", { name: "Rooms" }).locator("tbody tr td:first-child a").allTextContents();
}

describe("the console's Rooms and Reports screens", () => {
  it("lists, sorts and searches rooms, opens one with its members and state, and links it with its members' pages", async () => {
    const p = await desktop();
    await section(p, "Rooms").click();
    await p.getByText("3 rooms").waitFor();
    expect((await listedRooms(p)).sort()).toEqual(["Book circle", "Doomed room", "Gardening club"]);

    // By members, most first (Synapse's direction for counts); reversed, fewest first.
    await p.getByLabel("Sort by").selectOption({ label: "Members" });
    await expect.poll(async () => (await listedRooms(p))[0]).toBe("Gardening club");
    await p.getByLabel("Reverse order").check();
    await expect.poll(async () => (await listedRooms(p))[2]).toBe("Gardening club");

    // Nothing found is a count and a sentence, not a broken table.
    await p.getByLabel("Search").fill("no such room anywhere");
    await p.getByText("No rooms.").waitFor();
    expect(await p.getByText("0 rooms").count()).toBe(1);
    // The search is the server's: name or alias, any case.
    await p.getByLabel("Search").fill("GARDEN");
    await expect.poll(() => listedRooms(p)).toEqual(["Gardening club"]);
    const row = p.locator(`tr[data-room="${garden}"]`);
    expect(await row.getByTestId("members").textContent()).toBe("2");
    expect(await row.getByRole("cell", { name: "#garden:localhost" }).count()).toBe(1);

    await p.getByRole("link", { name: "Gardening club" }).click();
    await p.getByRole("heading", { name: /^Gardening club/ }).waitFor();
    expect(await p.getByTestId("joined-members").textContent()).toMatch(/^2 joined, 2 of them local/);
    const members = p.getByRole("list", { name: "Joined members" });
    expect((await members.getByRole("link").allTextContents()).sort()).toEqual([alice.userId, bob.userId]);
    const state = p.getByRole("table", { name: "State events" });
    await state.getByRole("cell", { name: "m.room.create" }).waitFor();
    expect(await state.getByRole("row", { name: /m\.room\.topic/ }).textContent()).toContain("Seeds and soil");
    expect(await state.getByRole("row", { name: /m\.room\.member/ }).count()).toBe(2);

    // A member's page lists the rooms they are in, and leads back.
    await members.getByRole("link", { name: bob.userId }).click();
    await p.getByRole("heading", { name: "Devices" }).waitFor();
    const rooms = p.getByRole("list", { name: "Joined rooms" });
    await expect
      .poll(async () => (await rooms.getByRole("link").allTextContents()).sort())
      .toEqual(["Doomed room", "Gardening club"]);
    await rooms.getByRole("link", { name: "Gardening club" }).click();
    await p.getByRole("heading", { name: /^Gardening club/ }).waitFor();
    expect(new URL(p.url()).pathname).toBe(CONSOLE + roomPath(garden));
  });

  it("blocks and unblocks a room, and makes an admin a room admin; a refusal is shown and changes nothing", async () => {
    const p = await desktop();
    await open(p, roomPath(books), "Book circle");
    expect(await p.getByTestId("block-status").textContent()).toBe("Not blocked.");

    await p.getByRole("button", { name: "Block", exact: true }).click();
    expect(await fx.admin("GET", adminRoom(books, "/block"))).toEqual({ block: false });
    await p.getByRole("button", { name: "Yes, block" }).click();
    await p.getByText("Blocked.", { exact: true }).waitFor();
    expect(await p.getByTestId("block-status").textContent()).toContain(`Blocked by ${ROOT}`);
    expect(await fx.admin("GET", adminRoom(books, "/block"))).toEqual({ block: true, user_id: ROOT });
    // The block is real: bob cannot be invited now.
    const invite = await call(fx.url, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(books)}/invite`, {
      token: alice.token,
      json: { user_id: bob.userId },
    });
    expect(invite.status).toBe(403);

    await p.getByRole("button", { name: "Unblock" }).click();
    await p.getByText("Unblocked.").waitFor();
    expect(await p.getByTestId("block-status").textContent()).toBe("Not blocked.");
    expect(await fx.admin("GET", adminRoom(books, "/block"))).toEqual({ block: false });

    const powerOf = async (userId: string) => {
      const { state } = (await fx.admin("GET", adminRoom(books, "/state?type=m.room.power_levels"))) as {
        state: { content: { users: Record<string, number> } }[];
      };
      return state[0]!.content.users[userId];
    };
    // A malformed user ID: the server's reason is shown, nothing changes.
    await p.getByRole("button", { name: "Make room admin" }).click();
    await p.getByLabel("User ID").fill("root");
    await p.getByRole("button", { name: "Yes, make room admin" }).click();
    expect(await p.getByRole("alert").textContent()).toContain("Expected UserID string to start with '@'");
    expect(await powerOf("root")).toBeUndefined();

    // Empty means the admin using the console: given alice's level, and invited, the room being private.
    await p.getByRole("button", { name: "Make room admin" }).click();
    await p.getByLabel("User ID").fill("");
    await p.getByRole("button", { name: "Yes, make room admin" }).click();
    await p.getByText(`${ROOT} is now a room admin.`).waitFor();
    expect(await p.getByRole("alert").count()).toBe(0);
    expect(await powerOf(ROOT)).toBe(100);
    const { state } = (await fx.admin("GET", adminRoom(books, "/state?type=m.room.member"))) as {
      state: { state_key: string; content: { membership: string } }[];
    };
    expect(state.find((e) => e.state_key === ROOT)?.content.membership).toBe("invite");
    // The page shows the new state too.
    const row = p.getByRole("table", { name: "State events" }).getByRole("row", { name: /m\.room\.power_levels/ });
    expect(await row.textContent()).toContain(`"${ROOT}": 100`);
  });

  it("deletes a room with a notice room, follows the deletion to complete, and still shows the room's block", async () => {
    const p = await desktop();
    await open(p, roomPath(doomed), "Doomed room");
    await p.getByRole("button", { name: "Delete room" }).click();
    const confirm = p.getByRole("group", { name: "Confirm: Delete room" });
    expect(await confirm.getByLabel("Purge its events and state from the database").isChecked()).toBe(true);
    await confirm.getByLabel("Block the room ID, so it cannot be joined again").check();
    await confirm.getByLabel("Move local members to a notice room made by").fill(ROOT);
    await confirm.getByLabel("Message in the notice room").fill("This room broke the rules.");
    await confirm.getByRole("button", { name: "Yes, delete room" }).click();

    await p.getByTestId("delete-status").filter({ hasText: "complete" }).waitFor();
    await p.getByText("This room is no longer on the server").waitFor();
    expect(await p.getByTestId("block-status").textContent()).toContain(`Blocked by ${ROOT}`);
    const gone = await call(fx.url, "GET", adminRoom(doomed), { token: fx.adminToken });
    expect(gone.status).toBe(404);
    const { results } = (await fx.admin(
      "GET",
      `/_synapse/admin/v2/rooms/${encodeURIComponent(doomed)}/delete_status`,
    )) as {
      results: { status: string; shutdown_room: { kicked_users: string[]; new_room_id: string } }[];
    };
    expect(results).toHaveLength(1);
    expect(results[0]!.status).toBe("complete");
    expect(results[0]!.shutdown_room.kicked_users).toEqual([bob.userId]);

    // Bob is now in the notice room, which says what the console was told to say.
    const noticeRoom = results[0]!.shutdown_room.new_room_id;
    const bobs = await fx.admin("GET", `/_synapse/admin/v1/users/${encodeURIComponent(bob.userId)}/joined_rooms`);
    expect([...(bobs.joined_rooms as string[])].sort()).toEqual([garden, noticeRoom].sort());
    await p.getByRole("link", { name: noticeRoom }).click();
    await p.getByRole("heading", { name: /^Content Violation Notification/ }).waitFor();
    expect(await p.getByRole("list", { name: "Joined members" }).getByRole("link").allTextContents()).toContain(
      bob.userId,
    );
  });

  it("lists reports made through the client API, filters them, opens one with its event, and deletes it", async () => {
    await clientCall(fx.url, bob, "POST", `/rooms/${encodeURIComponent(garden)}/report/${encodeURIComponent(spam)}`, {
      reason: "Spam about pills",
      score: -100,
    });
    await clientCall(fx.url, alice, "POST", `/rooms/${encodeURIComponent(books)}/report`, { reason: "Whole room" });
    const p = await desktop();
    await section(p, "Reports").click();
    await p.getByText("2 reports").waitFor();
    const table = p.getByRole("table", { name: "Reports" });
    expect(await table.getByRole("row", { name: /Whole room/ }).textContent()).toContain("(the whole room)");

    await p.getByLabel("Room ID").fill(garden);
    await p.getByRole("button", { name: "Apply filters" }).click();
    await p.getByText("1 report", { exact: true }).waitFor();
    expect(await table.locator("tbody tr").textContent()).toContain("Spam about pills");
    await p.getByLabel("Room ID").fill("");
    await p.getByLabel("Reported by").fill(alice.userId);
    await p.getByRole("button", { name: "Apply filters" }).click();
    await table.getByRole("row", { name: /Whole room/ }).waitFor();
    expect(await table.locator("tbody tr").count()).toBe(1);
    await p.getByLabel("Reported by").fill(bob.userId);
    await p.getByRole("button", { name: "Apply filters" }).click();
    await table
      .getByRole("row", { name: /Spam about pills/ })
      .getByRole("link", { name: /^Report \d+$/ })
      .click();

    await p.getByRole("heading", { name: "Reported event" }).waitFor();
    expect(await p.getByTestId("event-body").textContent()).toBe("Cheap pills, click here");
    expect(await p.getByTestId("reason").textContent()).toBe("Spam about pills");
    const id = Number(new URL(p.url()).pathname.split("/").pop());
    expect((await fx.admin("GET", `/_synapse/admin/v1/event_reports/${id}`)).event_id).toBe(spam);

    // The room is one click away, and from it the reports about it.
    await p.getByRole("link", { name: "Gardening club" }).click();
    await p.getByRole("heading", { name: /^Gardening club/ }).waitFor();
    await p.getByRole("link", { name: "Reports about this room" }).click();
    await p.getByText("1 report", { exact: true }).waitFor();
    expect(await p.getByLabel("Room ID").inputValue()).toBe(garden);
    await table.getByRole("link", { name: `Report ${id}` }).click();
    await p.getByRole("heading", { name: "Reported event" }).waitFor();
    await p.getByRole("button", { name: "Delete report" }).click();
    await p.getByRole("button", { name: "Yes, delete report" }).click();
    await p.getByText("Report deleted.").waitFor();
    const gone = await call(fx.url, "GET", `/_synapse/admin/v1/event_reports/${id}`, { token: fx.adminToken });
    expect(gone.status).toBe(404);

    // The list no longer has it; the room's filter now finds none.
    await p.getByRole("link", { name: "Back to reports" }).click();
    await p.getByText("1 report", { exact: true }).waitFor();
    await p.getByLabel("Room ID").fill(garden);
    await p.getByRole("button", { name: "Apply filters" }).click();
    await p.getByText("No reports.").waitFor();
  });

  it("shows the server's refusals on pages for what does not exist, and the room page still offers the block", async () => {
    const p = await desktop();
    await p.goto(`${fx.url}${CONSOLE}${roomPath("!nothing:localhost")}`);
    expect(await p.getByRole("alert").textContent()).toContain("Room not found");
    expect(await p.getByTestId("block-status").textContent()).toBe("Not blocked.");
    expect(await p.getByRole("button", { name: "Delete room" }).count()).toBe(0);
    await p.goto(`${fx.url}${CONSOLE}${roomPath("not a room id")}`);
    expect(await p.getByRole("alert").textContent()).toContain("not a legal room ID");
    await p.goto(`${fx.url}${CONSOLE}reports/424242`);
    await p.getByRole("alert").getByText("Not found.").waitFor();
    await p.getByRole("link", { name: "Back to reports" }).waitFor();
  });

  it("is readable at phone width, and no page broke a rule of the CSP", async () => {
    const p = await consolePage({ width: 375, height: 740 });
    for (const [link, heading] of [
      ["Rooms", "Rooms"],
      ["Reports", "Reports"],
    ] as const) {
      await section(p, link).click();
      await p.getByRole("heading", { name: heading, exact: true }).waitFor();
      await p.locator("tbody tr").first().waitFor();
      expect(await p.evaluate(NO_SIDEWAYS_SCROLL), link).toBe(true);
    }
    await p.locator("tbody tr a").first().click();
    await p.getByRole("heading", { name: "Reported event" }).waitFor();
    expect(await p.evaluate(NO_SIDEWAYS_SCROLL)).toBe(true);
    await open(p, roomPath(garden), "Gardening club");
    await p.getByRole("table", { name: "State events" }).waitFor();
    expect(await p.evaluate(NO_SIDEWAYS_SCROLL)).toBe(true);

    expect(opened).toHaveLength(2);
    expect(opened.flatMap((o) => o.problems)).toEqual([]);
  });
});
