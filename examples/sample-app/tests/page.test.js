import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const html = readFileSync(new URL("../src/index.html", import.meta.url), "utf8");

test("the page has the offset field and the calculate button", () => {
  assert.match(html, /id="offset"/);
  assert.match(html, /<button type="submit">Calculate<\/button>/);
});

test("asset paths are relative so previews work under a path prefix", () => {
  assert.doesNotMatch(html, /(href|src)="\//);
});
