"""Run the CloudFront viewer-request function under Node, with a stand-in `cloudfront` KVS module."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

NODE = shutil.which("node")

STUB = """
export default {
  kvs(id) {
    globalThis.kvsIds.push(id);
    return {
      async get(key) {
        if (Object.prototype.hasOwnProperty.call(globalThis.store, key)) return globalThis.store[key];
        throw new Error('Key not found: ' + key);
      },
    };
  },
};
"""

RUNNER = """
globalThis.kvsIds = [];
globalThis.store = JSON.parse(process.argv[2]);
const { handler } = await import('./router.mjs');
const out = [];
for (const r of JSON.parse(process.argv[3])) {
  const base = { method: 'GET', headers: {}, cookies: {}, querystring: {} };
  const request = typeof r === 'string' ? { ...base, uri: r } : { ...base, ...r };
  out.push(await handler({ request }));
}
console.log(JSON.stringify({ kvsIds: globalThis.kvsIds, results: out }));
"""


def run_viewer_function(workdir: Path, source: str, store: dict[str, str], uris: list) -> dict:
    """{"kvsIds": [...], "results": [one response or request per uri]} from the function.

    Each of `uris` is a path, or a CloudFront request object ({"uri", "headers", "cookies"}).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "cloudfront.mjs").write_text(STUB)
    module = source.replace("from 'cloudfront'", "from './cloudfront.mjs'")
    (workdir / "router.mjs").write_text(module + "\nexport { handler };\n")
    (workdir / "run.mjs").write_text(RUNNER)
    done = subprocess.run(
        [NODE, "run.mjs", json.dumps(store), json.dumps(uris)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)
