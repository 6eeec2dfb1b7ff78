/**
 * The console's shell: login, the not-an-admin page, the navigation, and a small router over the History API
 * (paths below /_gatehouse/admin/, which the server answers with this page).
 */
import { useCallback, useEffect, useMemo, useState, type SyntheticEvent, type MouseEvent, type ReactNode } from "react";
import { api, ApiError } from "../shared/api";
import { ErrorBox, Field } from "../shared/components";
import { Audit } from "./Audit";
import { CreateUser } from "./CreateUser";
import { Dashboard } from "./Dashboard";
import { Import } from "./Import";
import { ReportPage, Reports } from "./Reports";
import { RoomPage } from "./RoomPage";
import { Rooms } from "./Rooms";
import {
  BASE,
  callWith,
  ConsoleContext,
  GATEHOUSE,
  loadSession,
  saveSession,
  type ConsoleContextValue,
  type ServerOverview,
  type Session,
} from "./session";
import { Tokens } from "./Tokens";
import { UserPage } from "./UserPage";
import { Users } from "./Users";

function currentRoute(): string {
  const p = window.location.pathname;
  return p.startsWith(BASE) ? decodeURIComponent(p.slice(BASE.length)) : "";
}

type State =
  | { kind: "loading" }
  | { kind: "login" }
  | { kind: "not-admin"; session: Session }
  | { kind: "ready"; session: Session; server: ServerOverview };

export function App() {
  const [state, setState] = useState<State>({ kind: "loading" });
  const [route, setRoute] = useState(currentRoute());
  const [loadError, setLoadError] = useState<unknown>(null);

  useEffect(() => {
    const onPop = () => setRoute(currentRoute());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const navigate = useCallback((path: string) => {
    window.history.pushState(null, "", BASE + path);
    setRoute(currentRoute());
    window.scrollTo(0, 0);
  }, []);

  /** Admin or not is the server's answer to an admin request: the flag lives in its database, not in the token. */
  const enter = useCallback(async (session: Session) => {
    setLoadError(null);
    try {
      const server = await api<ServerOverview>("GET", `${GATEHOUSE}/server`, { token: session.token });
      saveSession(session);
      setState({ kind: "ready", session, server });
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        saveSession(session);
        setState({ kind: "not-admin", session });
      } else if (err instanceof ApiError && (err.status === 401 || err.errcode === "M_UNKNOWN_TOKEN")) {
        saveSession(null);
        setState({ kind: "login" });
        setLoadError(err);
      } else {
        setState({ kind: "login" });
        setLoadError(err);
      }
    }
  }, []);

  useEffect(() => {
    const s = loadSession();
    if (s) void enter(s);
    else setState({ kind: "login" });
  }, [enter]);

  const logout = useCallback(async (session: Session) => {
    try {
      await api("POST", "/_matrix/client/v3/logout", { token: session.token, body: {} });
    } catch {
      // The token may be dead already; the page forgets it either way.
    }
    saveSession(null);
    setState({ kind: "login" });
  }, []);

  const context = useMemo<ConsoleContextValue | null>(() => {
    if (state.kind !== "ready") return null;
    const raw = callWith(state.session.token);
    return {
      session: state.session,
      server: state.server,
      navigate,
      async call(method, path, body) {
        try {
          return await raw(method, path, body);
        } catch (err) {
          if (err instanceof ApiError && err.errcode === "M_UNKNOWN_TOKEN") {
            saveSession(null);
            setState({ kind: "login" });
          }
          throw err;
        }
      },
      async refreshServer() {
        const server = await raw<ServerOverview>("GET", `${GATEHOUSE}/server`);
        setState((s) => (s.kind === "ready" ? { ...s, server } : s));
      },
    };
  }, [state, navigate]);

  if (state.kind === "loading") return <main className="narrow">Loading…</main>;
  if (state.kind === "login") return <Login onLogin={enter} initialError={loadError} />;
  if (state.kind === "not-admin") return <NotAdmin session={state.session} onLogout={() => logout(state.session)} />;

  return (
    <ConsoleContext.Provider value={context}>
      <header className="topbar">
        <span className="brand">Gatehouse · {state.server.server_name}</span>
        <span className="who">{state.session.userId}</span>
        <button type="button" onClick={() => void logout(state.session)}>
          Log out
        </button>
      </header>
      <nav className="tabs" aria-label="Console sections">
        <NavLink to="" route={route} navigate={navigate}>
          Dashboard
        </NavLink>
        <NavLink to="users" route={route} navigate={navigate}>
          Users
        </NavLink>
        <NavLink to="users/new" route={route} navigate={navigate}>
          Create user
        </NavLink>
        <NavLink to="rooms" route={route} navigate={navigate}>
          Rooms
        </NavLink>
        <NavLink to="reports" route={route} navigate={navigate}>
          Reports
        </NavLink>
        <NavLink to="tokens" route={route} navigate={navigate}>
          Invites
        </NavLink>
        <NavLink to="audit" route={route} navigate={navigate}>
          Audit log
        </NavLink>
        <NavLink to="import" route={route} navigate={navigate}>
          Import
        </NavLink>
      </nav>
      <main>
        <Page route={route} />
      </main>
    </ConsoleContext.Provider>
  );
}

function Page({ route }: { route: string }) {
  if (route === "") return <Dashboard />;
  if (route === "users") return <Users />;
  if (route === "users/new") return <CreateUser />;
  if (route.startsWith("users/")) return <UserPage key={route} userId={route.slice("users/".length)} />;
  if (route === "rooms") return <Rooms />;
  if (route.startsWith("rooms/")) return <RoomPage key={route} roomId={route.slice("rooms/".length)} />;
  if (route === "reports") return <Reports />;
  if (route.startsWith("reports/")) return <ReportPage key={route} id={route.slice("reports/".length)} />;
  if (route === "tokens") return <Tokens />;
  if (route === "audit") return <Audit />;
  if (route === "import") return <Import />;
  return (
    <>
      <h1>Not found</h1>
      <p>There is no console page at this address.</p>
    </>
  );
}

function isCurrent(to: string, route: string): boolean {
  if (to === "users") return route === "users" || (route.startsWith("users/") && route !== "users/new");
  if (to === "rooms" || to === "reports") return route === to || route.startsWith(`${to}/`);
  return route === to;
}

function NavLink(props: { to: string; route: string; navigate: (p: string) => void; children: ReactNode }) {
  return (
    <a
      href={BASE + props.to}
      aria-current={isCurrent(props.to, props.route) ? "page" : undefined}
      onClick={(e: MouseEvent) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        props.navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

/** A link inside the console that does not reload the page. */
export function Link(props: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={BASE + props.to}
      className={props.className}
      onClick={(e: MouseEvent) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        window.history.pushState(null, "", BASE + props.to);
        window.dispatchEvent(new PopStateEvent("popstate"));
        window.scrollTo(0, 0);
      }}
    >
      {props.children}
    </a>
  );
}

function Login({ onLogin, initialError }: { onLogin: (s: Session) => Promise<void>; initialError: unknown }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [problems, setProblems] = useState<{ user?: string; password?: string }>({});
  const [error, setError] = useState<unknown>(initialError);
  const [busy, setBusy] = useState(false);

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const found: typeof problems = {};
    if (!user.trim()) found.user = "Enter your username or Matrix ID.";
    if (!password) found.password = "Enter your password.";
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ user_id: string; access_token: string; device_id: string }>(
        "POST",
        "/_matrix/client/v3/login",
        {
          body: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: user.trim() },
            password,
            initial_device_display_name: "Gatehouse console",
          },
        },
      );
      setPassword("");
      await onLogin({ userId: r.user_id, token: r.access_token, deviceId: r.device_id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="narrow">
      <h1>Gatehouse console</h1>
      <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-label="Log in">
        <p className="muted">Log in with a server admin account.</p>
        <ErrorBox error={error} />
        <Field
          label="Username"
          name="username"
          value={user}
          onChange={setUser}
          autoComplete="username"
          problem={problems.user}
          autoFocus
        />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          problem={problems.password}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}

function NotAdmin({ session, onLogout }: { session: Session; onLogout: () => Promise<void> }) {
  return (
    <main className="narrow">
      <h1>This account is not a server admin</h1>
      <div className="card">
        <p>
          You are logged in as <code>{session.userId}</code>, which is not an admin of this server, so the console has
          nothing to show you.
        </p>
        <p className="muted">
          An existing admin can make this account an admin on its page in the console, or with{" "}
          <code>gatehouse register-user --admin</code> for a new account.
        </p>
        <button type="button" className="primary" onClick={() => void onLogout()}>
          Log out
        </button>
      </div>
    </main>
  );
}
