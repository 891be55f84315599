// Small building blocks shared by the screens: labelled fields, the collaborative text area,
// dates in the person's own zone, and the hook that re-renders when a document changes.
//
// Every piece of user text goes through JSX text nodes or form values, never through innerHTML,
// so a title like `<img src=x onerror=alert(1)>` shows as those characters.

import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import type { DocHandle } from "@automerge/automerge-repo/slim";
import { Invalid, type Stored, str, PROSE_LIMIT } from "./model";
import { shown } from "./session";

/** The document behind a handle, re-read whenever it changes (locally, from a tab or the relay). */
export function useDoc(handle: DocHandle<Stored> | undefined): Stored | undefined {
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (!handle) return;
    // "heads-changed", not "change": settling a conflict in favour of the value already shown
    // changes the document without changing what it shows, and the conflict must still go.
    const onChange = () => setVersion((v) => v + 1);
    handle.on("heads-changed", onChange);
    return () => void handle.off("heads-changed", onChange);
  }, [handle]);
  return handle ? shown(handle) : undefined;
}

let nextId = 0;
export function useId(prefix: string): string {
  const ref = useRef<string | undefined>(undefined);
  if (!ref.current) ref.current = `${prefix}-${++nextId}`;
  return ref.current;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dayOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** A stored instant, shown in the person's time zone. */
export function When({ instant }: { instant?: string }) {
  if (!instant) return <span class="muted">no time</span>;
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return <span>{instant}</span>;
  return <time dateTime={instant}>{dateTime.format(d)}</time>;
}

/** A calendar date (a day, with no zone). */
export function Day({ date }: { date?: string }) {
  if (!date) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return <span>{date}</span>;
  return <time dateTime={date}>{dayOnly.format(new Date(+m[1], +m[2] - 1, +m[3]))}</time>;
}

/** Seconds since the epoch (a change's time), in the person's zone. */
export function ChangeTime({ secs }: { secs: number }) {
  const d = new Date(secs * 1000);
  return <time dateTime={d.toISOString()}>{dateTime.format(d)}</time>;
}

export function Field(props: {
  label: string;
  value: string;
  onInput: (v: string) => void;
  type?: "text" | "date" | "url" | "datetime-local" | "number";
  required?: boolean;
  list?: string;
  placeholder?: string;
}) {
  const id = useId("f");
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        list={props.list}
        placeholder={props.placeholder}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
    </div>
  );
}

export function Area(props: { label: string; value: string; onInput: (v: string) => void }) {
  const id = useId("a");
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea id={id} rows={3} value={props.value} onInput={(e) => props.onInput((e.target as HTMLTextAreaElement).value)} />
    </div>
  );
}

export function Select(props: { label: string; value: string; options: [string, string][]; onChange: (v: string) => void }) {
  const id = useId("s");
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        {props.options.map(([v, label]) => (
          <option value={v} key={v}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * What a form holds before it is sent, a string a field: `set(key)` is that field's input
 * handler, `fill` puts in other values (an item's, when editing it starts) and `clear` empties
 * the named fields, or all of them. A field left out of `clear` keeps its value for the next
 * item, as the goal a new action is for does.
 */
export function useDraft<T extends object>(empty: T | (() => T)) {
  const [start] = useState(empty);
  const [draft, setDraft] = useState(start);
  return {
    draft,
    set: (key: keyof T) => (v: string) => setDraft((d) => ({ ...d, [key]: v })),
    fill: setDraft,
    clear: (...keys: (keyof T)[]) =>
      setDraft((d) => (keys.length === 0 ? start : { ...d, ...Object.fromEntries(keys.map((k) => [k, start[k]])) })),
  };
}

/**
 * A form whose submit runs `action`; a validation error is shown beside the form, in words,
 * and the form stays as typed so the person can fix it.
 */
export function Form(props: { label: string; submit: string; action: () => void; children: ComponentChildren; onCancel?: () => void }) {
  const [error, setError] = useState<string>();
  return (
    <form
      class="form"
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        try {
          props.action();
          setError(undefined);
        } catch (err) {
          if (err instanceof Invalid) setError(err.message);
          else throw err;
        }
      }}
    >
      {props.children}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="buttons">
        <button type="submit">{props.submit}</button>
        {props.onCancel && (
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

/** Where a cursor should go after the text around it changed from `before` to `after`. */
function shifted(pos: number, before: string, after: string): number {
  let prefix = 0;
  while (prefix < before.length && prefix < after.length && before[prefix] === after[prefix]) prefix++;
  return pos <= prefix ? pos : Math.max(prefix, pos + after.length - before.length);
}

/**
 * Prose edited together: every keystroke becomes a minimal text diff on the stored Text, so
 * edits from the CLI or another browser elsewhere in the same text merge with this person's.
 * When the text changes underneath, the cursor keeps its place.
 */
export function CollabText(props: {
  label: string;
  /** The document and the path of the text inside it. */
  handle: DocHandle<Stored>;
  path: string[];
  readOnly: boolean;
  onEdit: (v: string) => void;
  rows?: number;
}) {
  const id = useId("t");
  const ref = useRef<HTMLTextAreaElement>(null);
  const [error, setError] = useState<string>();
  // The text as the document holds it *now*. A render may lag behind keystrokes that were
  // already applied, so the props of that render are not compared with the text area.
  const current = () => {
    let v: Stored = shown(props.handle);
    for (const p of props.path) v = v?.[p];
    return str(v) ?? "";
  };
  useEffect(() => {
    const el = ref.current;
    const now = current();
    if (!el || el.value === now) return;
    const focused = document.activeElement === el;
    const [s, e] = [el.selectionStart, el.selectionEnd];
    const before = el.value;
    el.value = now;
    if (focused) el.setSelectionRange(shifted(s, before, now), shifted(e, before, now));
  });
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        ref={ref}
        rows={props.rows ?? 3}
        readOnly={props.readOnly}
        defaultValue={current()}
        onInput={(e) => {
          const v = (e.target as HTMLTextAreaElement).value;
          try {
            props.onEdit(v);
            setError(undefined);
          } catch (err) {
            if (err instanceof Invalid) setError(`${err.message} (${PROSE_LIMIT / 1024} KiB at most)`);
            else throw err;
          }
        }}
      />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** A link only for http(s) URLs; anything else is shown as text, never made clickable. */
export function SafeLink({ href, children }: { href: string; children: ComponentChildren }) {
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(href).protocol);
  } catch {
    ok = false;
  }
  return ok ? (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ) : (
    <span>{children}</span>
  );
}

export { str };
