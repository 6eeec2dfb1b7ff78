/**
 * The terms step of the sign-up page (`m.login.terms`): a box to tick for each policy the server names, each with
 * its link; continuing submits the stage, which is the acceptance.
 */
import { useState } from "react";

export const TERMS_STAGE = "m.login.terms";

interface Policy {
  id: string;
  name: string;
  url: string;
}

/** The params' `policies`, in the page's language if given, else English, else the first language offered. */
export function policiesOf(params: Record<string, unknown>): Policy[] {
  const policies = params.policies;
  if (typeof policies !== "object" || policies === null) return [];
  const out: Policy[] = [];
  for (const [id, raw] of Object.entries(policies as Record<string, unknown>)) {
    if (typeof raw !== "object" || raw === null) continue;
    const entry = raw as Record<string, unknown>;
    const lang = navigator.language.split("-")[0] ?? "en";
    const text = [entry[lang], entry.en, ...Object.values(entry)].find(
      (t): t is { name: string; url: string } =>
        typeof t === "object" &&
        t !== null &&
        typeof (t as { name?: unknown }).name === "string" &&
        typeof (t as { url?: unknown }).url === "string",
    );
    if (text) out.push({ id, name: text.name, url: text.url });
  }
  return out;
}

export function TermsStage(props: { params: Record<string, unknown>; onAccepted: () => void }) {
  const policies = policiesOf(props.params);
  const [ticked, setTicked] = useState<Set<string>>(new Set());
  const all = policies.every((p) => ticked.has(p.id));
  const toggle = (id: string, on: boolean) =>
    setTicked((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  return (
    <div className="terms" data-testid="terms-stage">
      <p>One more step: this server asks you to accept its terms.</p>
      {policies.map((p) => (
        <p key={p.id}>
          <label>
            <input type="checkbox" checked={ticked.has(p.id)} onChange={(e) => toggle(p.id, e.target.checked)} /> I have
            read and agree to the{" "}
            <a href={p.url} target="_blank" rel="noopener noreferrer">
              {p.name}
            </a>
          </label>
        </p>
      ))}
      <button type="button" className="primary" disabled={!all} onClick={props.onAccepted}>
        Accept and continue
      </button>
    </div>
  );
}
