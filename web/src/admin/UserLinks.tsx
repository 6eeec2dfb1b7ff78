/**
 * An account's linked identities (`external_ids`): an SSO login through a provider reaches the account its ID is
 * linked to. Adding or removing one is `PUT /v2/users/{id}` with the whole list changed by one, as
 * `gatehouse user link`/`unlink` send it; the server refuses an ID another account holds (409).
 */
import { useState, type SyntheticEvent } from "react";
import { ConfirmButton, Field } from "../shared/components";

export interface ExternalId {
  auth_provider: string;
  external_id: string;
}

export function UserLinks(props: {
  links: ExternalId[];
  /** Sends the new list; resolves, once the page shows the server's answer, to whether it was taken. */
  save: (what: string, links: ExternalId[]) => Promise<boolean>;
}) {
  const [provider, setProvider] = useState("");
  const [externalId, setExternalId] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const same = (a: ExternalId, b: ExternalId) => a.auth_provider === b.auth_provider && a.external_id === b.external_id;

  const add = async (e: SyntheticEvent) => {
    e.preventDefault();
    const link = { auth_provider: provider.trim(), external_id: externalId.trim() };
    const found =
      !link.auth_provider || !link.external_id
        ? "Enter both the provider and the ID."
        : props.links.some((l) => same(l, link))
          ? "The account already has this link."
          : null;
    setProblem(found);
    if (found) return;
    // A refused link (another account's ID) stays in the form, next to the server's reason.
    if (await props.save(`Linked ${link.auth_provider}: ${link.external_id}.`, [...props.links, link])) {
      setProvider("");
      setExternalId("");
    }
  };

  return (
    <section className="card" aria-labelledby="links-h">
      <h2 id="links-h">Linked identities</h2>
      {props.links.length === 0 ? (
        <p>No linked identities.</p>
      ) : (
        <div className="table-wrap">
          <table className="stack" aria-label="Linked identities">
            <thead>
              <tr>
                <th>Provider</th>
                <th>ID</th>
                <th>
                  <span className="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.links.map((l) => (
                <tr key={`${l.auth_provider}\u0000${l.external_id}`}>
                  <td data-label="Provider">
                    <code>{l.auth_provider}</code>
                  </td>
                  <td data-label="ID">
                    <code>{l.external_id}</code>
                  </td>
                  <td>
                    <ConfirmButton
                      label="Remove"
                      danger
                      question={
                        <>
                          Logging in through {l.auth_provider} as {l.external_id} will no longer reach this account.
                        </>
                      }
                      onConfirm={async () => {
                        await props.save(
                          `Removed ${l.auth_provider}: ${l.external_id}.`,
                          props.links.filter((x) => !same(x, l)),
                        );
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={(e) => void add(e)} noValidate aria-label="Link an identity">
        <Field
          label="Provider"
          name="auth_provider"
          value={provider}
          onChange={setProvider}
          hint={
            <>
              <code>oidc-&lt;idp_id&gt;</code> for an OpenID Connect provider, <code>ldap</code>
            </>
          }
          problem={problem}
        />
        <Field label="External ID" name="external_id" value={externalId} onChange={setExternalId} />
        <button type="submit">Link</button>
      </form>
    </section>
  );
}
