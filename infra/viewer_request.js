// Shipit hosting router (CloudFront Functions, cloudfront-js-2.0, viewer request).
// /previews/<build>/<rest> serves builds/<build>/<rest>; every other /<rest> serves
// builds/<live>/<rest>, where <live> is the KeyValueStore key "production". The rewritten URI
// is the cache key, so builds cache for good and switching production is instant.
import cf from 'cloudfront';

const kvs = cf.kvs('__KVS_ID__');
const BUILD_ID = /^[A-Za-z0-9._-]{1,128}$/;
const NOT_LIVE_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
  '<meta name="viewport" content="width=device-width, initial-scale=1">' +
  '<title>Nothing is live yet</title></head>' +
  '<body style="font-family: system-ui, sans-serif; margin: 3rem; color: #333">' +
  '<h1>Nothing is live yet</h1>' +
  '<p>Ask for a change in Telegram, check the preview, then say &ldquo;ship it&rdquo;.</p>' +
  '</body></html>';

function page(statusCode, statusDescription, html) {
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: {
      'content-type': { value: 'text/html; charset=utf-8' },
      'cache-control': { value: 'no-store' },
    },
    body: { encoding: 'text', data: html },
  };
}

function notFound() {
  return page(404, 'Not Found', '<!doctype html><title>Not found</title><h1>Not found</h1>');
}

function withIndex(path) {
  return path.endsWith('/') ? path + 'index.html' : path;
}

async function handler(event) {
  const request = event.request;
  const uri = request.uri;

  if (uri === '/previews' || uri.startsWith('/previews/')) {
    const rest = uri.slice('/previews/'.length);
    const slash = rest.indexOf('/');
    const build = slash === -1 ? rest : rest.slice(0, slash);
    if (!BUILD_ID.test(build)) {
      return notFound();
    }
    if (slash === -1) {
      // Relative asset paths only resolve under the trailing slash.
      return {
        statusCode: 301,
        statusDescription: 'Moved Permanently',
        headers: { location: { value: '/previews/' + build + '/' } },
      };
    }
    request.uri = '/builds/' + build + withIndex(rest.slice(slash));
    return request;
  }

  let live;
  try {
    live = await kvs.get('production');
  } catch (err) {
    // The key does not exist until the first "ship it".
    return page(503, 'Service Unavailable', NOT_LIVE_PAGE);
  }
  if (!BUILD_ID.test(live)) {
    return page(503, 'Service Unavailable', NOT_LIVE_PAGE);
  }
  request.uri = '/builds/' + live + withIndex(uri);
  return request;
}
