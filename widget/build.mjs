// Builds the widget into dist/ and checks its size.
//
//   node build.mjs               build dist/bts-chat.js (+ a content-hashed stylesheet)
//   node build.mjs --check-size  build, then fail if a first open transfers more than the budget
//
// dist/bts-chat.js has a stable name (it is what clinics embed); the stylesheet it loads is
// named by content hash so it can be cached for a year.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "dist");
// Budget for everything the widget transfers on a first open (script, stylesheet, socket.io
// client inside the script), gzip-compressed as widget/serve.py sends it (level 6).
const BUDGET_BYTES = 60 * 1000;
// Browsers from late 2020 on (ES2020, WebSocket, Shadow DOM, :focus-visible polyfill-free).
const TARGET = ["es2020", "chrome87", "edge88", "firefox78", "safari14.1"];

const pkg = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8"));

function gzipSize(bytes) {
  return gzipSync(bytes, { level: 6 }).length;
}

export async function build() {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });

  const css = await esbuild.transform(readFileSync(join(HERE, "src", "widget.css"), "utf8"), {
    loader: "css",
    minify: true,
    target: TARGET,
  });
  const cssHash = createHash("sha256").update(css.code).digest("hex").slice(0, 10);
  const cssName = `bts-chat.${cssHash}.css`;
  writeFileSync(join(DIST, cssName), css.code);

  await esbuild.build({
    entryPoints: [join(HERE, "src", "widget.js")],
    outfile: join(DIST, "bts-chat.js"),
    bundle: true,
    format: "iife",
    platform: "browser",
    target: TARGET,
    minify: true,
    legalComments: "eof",
    sourcemap: "linked",
    define: {
      __BTS_CSS__: JSON.stringify(cssName),
      __BTS_VERSION__: JSON.stringify(pkg.version),
    },
    logLevel: "warning",
  });

  const files = {};
  for (const name of readdirSync(DIST).sort()) {
    if (name.endsWith(".map")) continue;
    const bytes = readFileSync(join(DIST, name));
    files[name] = { bytes: bytes.length, gzip: gzipSize(bytes) };
  }
  const firstOpen = ["bts-chat.js", cssName];
  const total = firstOpen.reduce((sum, name) => sum + files[name].gzip, 0);
  const manifest = { version: pkg.version, script: "bts-chat.js", stylesheet: cssName, files, firstOpenGzip: total, budget: BUDGET_BYTES };
  writeFileSync(join(DIST, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

const manifest = await build();
const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
for (const [name, size] of Object.entries(manifest.files)) {
  console.log(`  ${name.padEnd(32)} ${kb(size.bytes).padStart(9)}  gzip ${kb(size.gzip).padStart(8)}`);
}
console.log(`  first open (script + stylesheet)  gzip ${kb(manifest.firstOpenGzip)} of ${kb(BUDGET_BYTES)} budget`);
if (process.argv.includes("--check-size") && manifest.firstOpenGzip > BUDGET_BYTES) {
  console.error(`error: the widget is ${kb(manifest.firstOpenGzip)} gzipped, over the ${kb(BUDGET_BYTES)} budget`);
  process.exit(1);
}
