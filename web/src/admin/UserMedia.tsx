/**
 * A user's media (`GET /_synapse/admin/v1/users/{id}/media`, newest first) with Synapse's admin actions on each
 * item: quarantine, protect, delete; and `Avatar`, a user's avatar as a thumbnail. Media is only served with an
 * access token (authenticated media), which an `<img src>` cannot send: the thumbnail is fetched with the
 * console's token and shown from a `blob:` URL, released when the image changes or leaves the page.
 */
import { useCallback, useEffect, useState } from "react";
import { enc, query } from "../shared/api";
import { ConfirmButton, ErrorBox, formatTs, Notice } from "../shared/components";
import { SYNAPSE, useConsole } from "./session";

interface MediaItem {
  media_id: string;
  media_type: string | null;
  media_length: number | null;
  upload_name: string | null;
  created_ts: number;
  quarantined_by: string | null;
  safe_from_quarantine: boolean;
}

/** Items listed at once; the total says how many more there are. */
const SHOWN = 100;

export function formatBytes(n: number | null): string {
  if (n === null) return "pending";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** `mxc://server/id` as its parts, or null when it is not one. */
function parseMxc(uri: string): { server: string; id: string } | null {
  const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(uri);
  return m ? { server: m[1]!, id: m[2]! } : null;
}

export function Avatar({ mxc, size = 96 }: { mxc: string | null; size?: number }) {
  const { session } = useConsole();
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const parts = mxc ? parseMxc(mxc) : null;
    setSrc(null);
    setFailed(false);
    if (!parts) return;
    let url: string | null = null;
    let stale = false;
    const path = `/_matrix/client/v1/media/thumbnail/${enc(parts.server)}/${enc(parts.id)}`;
    fetch(path + query({ width: size, height: size, method: "crop" }), {
      headers: { authorization: `Bearer ${session.token}` },
    })
      .then(async (r) => {
        if (!r.ok) throw new Error(String(r.status));
        const blob = await r.blob();
        if (stale) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      })
      .catch(() => !stale && setFailed(true));
    return () => {
      stale = true;
      if (url) URL.revokeObjectURL(url);
    };
  }, [mxc, size, session.token]);

  if (!mxc) return <span className="muted">none</span>;
  if (failed) return <span className="muted">{mxc} (not available)</span>;
  if (!src) return <span className="muted">Loading…</span>;
  return <img className="avatar" src={src} width={size} height={size} alt="Avatar" />;
}

export function UserMedia({ userId, serverName }: { userId: string; serverName: string }) {
  const { call } = useConsole();
  const [items, setItems] = useState<MediaItem[]>();
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const r = await call<{ media: MediaItem[]; total: number }>(
        "GET",
        `${SYNAPSE}/v1/users/${enc(userId)}/media${query({ limit: SHOWN })}`,
      );
      setItems(r.media);
      setTotal(r.total);
    } catch (err) {
      setError(err);
    }
  }, [call, userId]);

  useEffect(() => void load(), [load]);

  /** Runs one action, then shows the server's list again, with the refusal if there was one. */
  const act = async (what: string, method: string, path: string) => {
    setError(null);
    setDone(null);
    try {
      await call(method, path);
      setDone(what);
    } catch (err) {
      setError(err);
    }
    await load();
  };

  return (
    <section className="card" aria-labelledby="media-h">
      <h2 id="media-h">Media</h2>
      <ErrorBox error={error} />
      {done && <Notice kind="ok">{done}</Notice>}
      {items === undefined ? null : items.length === 0 ? (
        <p>No media uploaded.</p>
      ) : (
        <>
          {total > items.length && (
            <p className="muted small">
              The newest {items.length} of {total}.
            </p>
          )}
          <div className="table-wrap">
            <table className="stack" aria-label="Media">
              <thead>
                <tr>
                  <th>File</th>
                  <th>Type</th>
                  <th>Size</th>
                  <th>Uploaded</th>
                  <th>State</th>
                  <th>
                    <span className="muted">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((m) => {
                  const label = m.upload_name ?? m.media_id;
                  const mediaPath = `${enc(serverName)}/${enc(m.media_id)}`;
                  return (
                    <tr key={m.media_id}>
                      <td data-label="File">
                        {label}
                        {m.upload_name !== null && <span className="muted small"> {m.media_id}</span>}
                      </td>
                      <td data-label="Type">{m.media_type ?? "–"}</td>
                      <td data-label="Size">{formatBytes(m.media_length)}</td>
                      <td data-label="Uploaded">{formatTs(m.created_ts)}</td>
                      <td data-label="State" data-testid="media-state">
                        {m.quarantined_by !== null ? "quarantined" : m.safe_from_quarantine ? "protected" : "ok"}
                      </td>
                      <td>
                        <div className="buttons">
                          {m.quarantined_by !== null ? (
                            <button
                              type="button"
                              onClick={() =>
                                void act(`${label} released.`, "POST", `${SYNAPSE}/v1/media/unquarantine/${mediaPath}`)
                              }
                            >
                              Unquarantine
                            </button>
                          ) : (
                            !m.safe_from_quarantine && (
                              <button
                                type="button"
                                onClick={() =>
                                  void act(
                                    `${label} quarantined.`,
                                    "POST",
                                    `${SYNAPSE}/v1/media/quarantine/${mediaPath}`,
                                  )
                                }
                              >
                                Quarantine
                              </button>
                            )
                          )}
                          <button
                            type="button"
                            onClick={() =>
                              void act(
                                m.safe_from_quarantine ? `${label} unprotected.` : `${label} protected.`,
                                "POST",
                                `${SYNAPSE}/v1/media/${m.safe_from_quarantine ? "unprotect" : "protect"}/${enc(m.media_id)}`,
                              )
                            }
                          >
                            {m.safe_from_quarantine ? "Unprotect" : "Protect"}
                          </button>
                          <ConfirmButton
                            label="Delete"
                            danger
                            question={<>{label} is deleted from the server, with its thumbnails.</>}
                            onConfirm={() => act(`${label} deleted.`, "DELETE", `${SYNAPSE}/v1/media/${mediaPath}`)}
                          />
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
