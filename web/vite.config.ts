// Builds the app into dist/, which tandem-server embeds. The bundle is committed, so the build
// must be reproducible: file names carry content hashes and nothing depends on the clock.

import { defineConfig, type Plugin } from "vite";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** Emits sw.js with the list of files to keep offline and a version derived from them. */
function serviceWorker(): Plugin {
  return {
    name: "tandem-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const assets = Object.keys(bundle)
        .filter((f) => f !== "index.html")
        .sort()
        .map((f) => `/${f}`);
      const version = createHash("sha256").update(assets.join("\n")).digest("hex").slice(0, 16);
      const source = readFileSync(new URL("./sw/sw.js", import.meta.url), "utf8")
        .replace("__VERSION__", JSON.stringify(version))
        .replace("__ASSETS__", JSON.stringify(assets));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

export default defineConfig({
  plugins: [serviceWorker()],
  build: {
    target: "es2022",
    // automerge's WebAssembly stays a separate file, fetched once and cached by the service worker.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
