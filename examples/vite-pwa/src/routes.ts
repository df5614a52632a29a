// The app's pages, matched on the real path: client-side routing with absolute paths.
export type Page = 'home' | 'crew' | 'missing'

export function pageFor(pathname: string): Page {
  const path = pathname.replace(/\/+$/, '') || '/'
  if (path === '/') return 'home'
  if (path === '/crew') return 'crew'
  return 'missing'
}

export const CREW = ['Alex (foreman)', 'Sam (welder)', 'Jo (fitter)']
