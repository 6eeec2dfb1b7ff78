/**
 * The console's login, kept in sessionStorage: it survives a reload of the tab, ends when the tab is closed, and is
 * never sent anywhere but this server (no cookie, so no cross-site request can carry it).
 */
import { createContext, useContext } from "react";
import { api, type RequestOptions } from "../shared/api";

export interface Session {
  userId: string;
  token: string;
  deviceId: string;
}

const KEY = "gatehouse.console.session";

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return typeof s.token === "string" && typeof s.userId === "string" ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

/** `GET /_gatehouse/admin/v1/server`. */
export interface ServerOverview {
  server_name: string;
  server_version: string;
  registration: "closed" | "token" | "open";
  public_baseurl: string | null;
  users: { total: number; active: number; admins: number; deactivated: number; locked: number; guests: number };
}

export interface ConsoleContextValue {
  session: Session;
  server: ServerOverview;
  /** An admin API call with this session's token. */
  call: <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => Promise<T>;
  refreshServer: () => Promise<void>;
  navigate: (path: string) => void;
}

export const ConsoleContext = createContext<ConsoleContextValue | null>(null);

export function useConsole(): ConsoleContextValue {
  const c = useContext(ConsoleContext);
  if (!c) throw new Error("outside the console");
  return c;
}

export function callWith(token: string) {
  return <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const options: RequestOptions = { token };
    if (body !== undefined) options.body = body;
    return api<T>(method, path, options);
  };
}

export const BASE = "/_gatehouse/admin/";
export const SYNAPSE = "/_synapse/admin";
export const GATEHOUSE = "/_gatehouse/admin/v1";
