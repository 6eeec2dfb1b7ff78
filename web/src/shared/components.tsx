/** Pieces both pages use: labelled fields, the error box, a copyable secret, a confirm-before-acting button. */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { describeError } from "./errors";

export function ErrorBox({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const { words, detail } = describeError(error);
  return (
    <div className="error" role="alert">
      <strong>{words}</strong>
      {detail && <span> {detail}</span>}
    </div>
  );
}

export function Notice({ children, kind = "info" }: { children: ReactNode; kind?: "info" | "ok" | "warn" }) {
  return (
    <div className={`notice notice-${kind}`} role="status">
      {children}
    </div>
  );
}

interface FieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  hint?: ReactNode;
  /** A problem found before sending: shown under the field and tied to it for screen readers. */
  problem?: string | null;
  autoComplete?: string;
  required?: boolean;
  readOnly?: boolean;
  placeholder?: string;
  inputMode?: "numeric" | "email" | "text";
  autoFocus?: boolean;
  name?: string;
}

export function Field(props: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const problemId = `${id}-problem`;
  const described = [props.hint ? hintId : null, props.problem ? problemId : null].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete={props.autoComplete ?? "off"}
        required={props.required}
        readOnly={props.readOnly}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        autoFocus={props.autoFocus}
        aria-invalid={props.problem ? true : undefined}
        aria-describedby={described || undefined}
        spellCheck={false}
        autoCapitalize="none"
      />
      {props.hint && (
        <div className="hint" id={hintId}>
          {props.hint}
        </div>
      )}
      {props.problem && (
        <div className="problem" id={problemId}>
          {props.problem}
        </div>
      )}
    </div>
  );
}

export function Checkbox(props: { label: string; checked: boolean; onChange: (v: boolean) => void; name?: string }) {
  return (
    <label className="checkbox">
      <input
        type="checkbox"
        name={props.name}
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
      />{" "}
      {props.label}
    </label>
  );
}

export function Select<T extends string>(props: {
  label: string;
  value: T;
  options: [T, string][];
  onChange: (v: T) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value as T)}>
        {props.options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Copies `text`; when the clipboard is not available (plain http, a refusing browser) the field is selected. */
export function CopyField(props: { label: string; value: string; secret?: boolean; multiline?: boolean }) {
  const { label, value, secret = false } = props;
  const id = useId();
  const input = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [state, setState] = useState<"idle" | "copied" | "select">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState("copied");
    } catch {
      input.current?.select();
      setState("select");
    }
  };
  return (
    <div className="field copy">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        {props.multiline ? (
          <textarea id={id} ref={input} readOnly value={value} rows={6} className={secret ? "secret" : undefined} />
        ) : (
          <input
            id={id}
            ref={input}
            readOnly
            value={value}
            className={secret ? "secret" : undefined}
            onFocus={(e) => e.target.select()}
          />
        )}
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <div className="hint" aria-live="polite">
        {state === "copied" ? "Copied." : state === "select" ? "Selected: press Ctrl+C (⌘C) to copy." : ""}
      </div>
    </div>
  );
}

/** A generated password, shown this once: the server keeps only its hash. */
export function OneTimeSecret({ title, password, onDone }: { title: string; password: string; onDone: () => void }) {
  return (
    <section className="secret-box" aria-label={title}>
      <h3>{title}</h3>
      <p>This password is shown once. Copy it now and give it to the person through a private channel.</p>
      <CopyField label="Generated password" value={password} secret />
      <button type="button" onClick={onDone}>
        I have saved it
      </button>
    </section>
  );
}

/** A button that asks again before acting; the question names the consequence. */
export function ConfirmButton(props: {
  label: string;
  question: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm: () => Promise<void> | void;
  children?: ReactNode;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking)
    return (
      <button
        type="button"
        className={props.danger ? "danger" : undefined}
        disabled={props.disabled}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  return (
    <div className="confirm" role="group" aria-label={`Confirm: ${props.label}`}>
      <div>{props.question}</div>
      {props.children}
      <div className="buttons">
        <button
          ref={confirmRef}
          type="button"
          className={props.danger ? "danger" : "primary"}
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void Promise.resolve(props.onConfirm()).finally(() => {
              setBusy(false);
              setAsking(false);
            });
          }}
        >
          {props.confirmLabel ?? `Yes, ${props.label.toLowerCase()}`}
        </button>
        <button type="button" onClick={() => setAsking(false)}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** Milliseconds since the epoch as a local date and time; `null` as a dash. */
export function formatTs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Calls `fn` once `value` has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}
