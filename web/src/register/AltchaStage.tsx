/**
 * The self-hosted CAPTCHA step of the sign-up page: the ALTCHA widget Gatehouse serves itself
 * (`/_gatehouse/altcha/`), solving a challenge signed for this sign-up's session. Its scripts are loaded only when
 * the server asks for the stage.
 */
import { createElement, useEffect, useRef, useState } from "react";

export const ALTCHA_STAGE = "org.gatehouse.altcha";
const ASSETS = "/_gatehouse/altcha";

let loading: Promise<void> | null = null;

function addScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`Could not load ${src}`));
    document.head.appendChild(s);
  });
}

/** The widget, then the script that points it at its worker: in that order, once per page. */
function loadWidget(): Promise<void> {
  loading ??= (async () => {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = `${ASSETS}/altcha.css`;
    document.head.appendChild(css);
    await addScript(`${ASSETS}/altcha.js`);
    await addScript(`${ASSETS}/setup.js`);
  })();
  return loading;
}

/** Shows the widget; `onSolved` gets the payload to send as the stage's `auth.payload`. */
export function AltchaStage(props: { challengeUrl: string; onSolved: (payload: string) => void }) {
  const ref = useRef<HTMLElement>(null);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState(false);
  const { onSolved } = props;

  useEffect(() => {
    loadWidget().then(
      () => setReady(true),
      () => setFailed(true),
    );
  }, []);

  useEffect(() => {
    const el = ref.current;
    if (!ready || !el) return;
    const verified = (e: Event) => {
      const payload = (e as CustomEvent<{ payload?: string }>).detail.payload;
      if (payload) onSolved(payload);
    };
    el.addEventListener("verified", verified);
    return () => el.removeEventListener("verified", verified);
  }, [ready, onSolved]);

  if (failed) return <p role="alert">The anti-spam check could not be loaded. Reload the page to try again.</p>;
  return (
    <div className="captcha" data-testid="captcha-stage">
      <p>One more step: show you are not a robot. Your browser does a little work; nothing is sent elsewhere.</p>
      {ready && createElement("altcha-widget", { ref, challenge: props.challengeUrl, name: "altcha" })}
    </div>
  );
}
