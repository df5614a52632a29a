import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import App from '../src/App'

describe('App', () => {
  it('shows the board title and today page', () => {
    const html = renderToString(<App initialPath="/" />)
    expect(html).toContain('Crew board')
    expect(html).toContain('jobs are on the board')
  })
  it('shows the crew on /crew', () => {
    expect(renderToString(<App initialPath="/crew" />)).toContain('Sam (welder)')
  })
})
