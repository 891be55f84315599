// The app's entry: load automerge's WebAssembly, register the service worker that keeps the app
// usable offline, and render.

import { render } from "preact";
import { initializeWasm } from "@automerge/automerge-repo/slim";
import wasmUrl from "@automerge/automerge/automerge.wasm?url";
import { App } from "./app";
import "./style.css";

async function start(): Promise<void> {
  if ("serviceWorker" in navigator) {
    // Registration failing (a private window, say) only costs the offline mode.
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
  }
  await initializeWasm(wasmUrl);
  const root = document.getElementById("app")!;
  root.textContent = "";
  render(<App />, root);
}

void start();
