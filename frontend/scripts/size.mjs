// The built bundle's size, raw and gzipped (level 9, as servers send it),
// per file and in all: `npm run size` after `npm run build`. Prints JSON.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const files = [];
const walk = (d) => {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
};
walk(dist);
const out = { files: {}, raw_bytes: 0, gzip_bytes: 0 };
for (const f of files.sort()) {
  const b = readFileSync(f);
  const gz = gzipSync(b, { level: 9 }).length;
  out.files[relative(dist, f)] = { raw: b.length, gzip: gz };
  out.raw_bytes += b.length;
  out.gzip_bytes += gz;
}
console.log(JSON.stringify(out, null, 2));
