// Shipit hosting router (CloudFront Functions, cloudfront-js-2.0, viewer request).
// local/site_router.py mirrors this file line for line; tests/unit/test_site_routing.py runs both
// on the same cases.
//
// Two distributions run it. MODE 'site' (production): /previews/<build>/<rest> serves
// builds/<build>/<rest> (apps with relative asset paths), every other /<rest> serves
// builds/<live>/<rest>, <live> being the KeyValueStore key "production".
// MODE 'previews' (the preview origin): /previews/<build>/<rest> sets a cookie naming the build
// and redirects to /<rest>; every request then serves builds/<cookie build>/<path>. So a preview
// runs at the same paths as production (absolute asset paths and client-side routers work), on
// another origin (its service workers, storage and cookies can never touch production's).
// The rewritten URI is the cache key, so builds cache for good and switching is instant.
// A build published with the single-page-app fallback has the key "spa:<build>": its paths
// without a file extension serve its index.html.
import cf from 'cloudfront';

const kvs = cf.kvs('__KVS_ID__');
const MODE = '__MODE__';
const BUILD_ID = /^[A-Za-z0-9._-]{1,128}$/;
const COOKIE = 'shipit_preview';
const COOKIE_ATTRIBUTES = 'Path=/; Max-Age=604800; HttpOnly; SameSite=Lax; Secure';
const STYLE = '<style>body{font-family:system-ui,sans-serif;margin:3rem;color:#333}</style>';

function html(title, text) {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>' + title + '</title>' + STYLE + '</head><body><h1>' + title + '</h1><p>' + text +
    '</p></body></html>'
  );
}

const NOT_LIVE = html(
  'Nothing is live yet',
  'Ask for a change in Telegram, check the preview, then say &ldquo;ship it&rdquo;.'
);
const NO_PREVIEW = html(
  'Open your preview from Telegram',
  'This address shows a preview only after you open its link from the chat with Shipit.'
);
const NOT_FOUND = html('Page not found', 'There is nothing at this address.');
const NO_WORKER = html(
  'No offline mode in previews',
  'Previews share one address, so they never install a service worker.'
);

function page(statusCode, statusDescription, body) {
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: {
      'content-type': { value: 'text/html; charset=utf-8' },
      'cache-control': { value: 'no-store' },
    },
    body: { encoding: 'text', data: body },
  };
}

function header(request, name) {
  const h = request.headers[name];
  return h ? h.value : '';
}

function lastSegmentHasDot(path) {
  return path.slice(path.lastIndexOf('/') + 1).indexOf('.') !== -1;
}

async function isSpa(build) {
  try {
    return (await kvs.get('spa:' + build)) === '1';
  } catch (err) {
    return false; // no key: the build did not opt in
  }
}

async function serve(request, build, path) {
  let file = path;
  if (file.endsWith('/')) {
    file = file + 'index.html';
  } else if (!lastSegmentHasDot(file) && (await isSpa(build))) {
    file = '/index.html';
  }
  request.uri = '/builds/' + build + file;
  return request;
}

function splitPreview(uri) {
  // '/previews/<build>/<rest>' -> [build, '/<rest>'] (rest null without the slash).
  const rest = uri.slice('/previews/'.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? [rest, null] : [rest.slice(0, slash), rest.slice(slash)];
}

async function previewOrigin(request) {
  const uri = request.uri;
  if (header(request, 'service-worker') === 'script') {
    return page(404, 'Not Found', NO_WORKER);
  }
  if (uri === '/previews' || uri.startsWith('/previews/')) {
    const parts = splitPreview(uri);
    if (!BUILD_ID.test(parts[0])) {
      return page(404, 'Not Found', NOT_FOUND);
    }
    return {
      statusCode: 302,
      statusDescription: 'Found',
      headers: {
        location: { value: parts[1] || '/' },
        'cache-control': { value: 'no-store' },
      },
      cookies: { [COOKIE]: { value: parts[0], attributes: COOKIE_ATTRIBUTES } },
    };
  }
  const cookie = request.cookies[COOKIE];
  if (!cookie || !BUILD_ID.test(cookie.value)) {
    return page(404, 'Not Found', NO_PREVIEW);
  }
  return serve(request, cookie.value, uri);
}

async function siteOrigin(request) {
  const uri = request.uri;
  if (uri === '/previews' || uri.startsWith('/previews/')) {
    const parts = splitPreview(uri);
    if (!BUILD_ID.test(parts[0])) {
      return page(404, 'Not Found', NOT_FOUND);
    }
    if (parts[1] === null) {
      // Relative asset paths only resolve under the trailing slash.
      return {
        statusCode: 301,
        statusDescription: 'Moved Permanently',
        headers: { location: { value: '/previews/' + parts[0] + '/' } },
      };
    }
    return serve(request, parts[0], parts[1]);
  }
  let live;
  try {
    live = await kvs.get('production');
  } catch (err) {
    // The key does not exist until the first "ship it".
    return page(503, 'Service Unavailable', NOT_LIVE);
  }
  if (!BUILD_ID.test(live)) {
    return page(503, 'Service Unavailable', NOT_LIVE);
  }
  return serve(request, live, uri);
}

async function handler(event) {
  return MODE === 'previews' ? previewOrigin(event.request) : siteOrigin(event.request);
}
