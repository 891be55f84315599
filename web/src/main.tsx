// The app's entry: register the service worker that keeps the app usable offline, and render.
// automerge's WebAssembly loads meanwhile (session.ts); whatever needs it waits for it.

import { render } from "preact";
import { App } from "./app";
import "./style.css";

async function start(): Promise<void> {
  if ("serviceWorker" in navigator) {
    // Registration failing (a private window, say) only costs the offline mode.
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
  }
  const root = document.getElementById("app")!;
  root.textContent = "";
  render(<App />, root);
}

void start();
