// Copies src/ to dist/. Asset paths in src/ are relative, so the build works under any URL prefix.
import { cpSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
cpSync("src", "dist", { recursive: true });
console.log("built dist/");
