import { describe, expect, it } from 'vitest'
import { CREW, pageFor } from '../src/routes'

describe('pageFor', () => {
  it('maps the real paths to pages', () => {
    expect(pageFor('/')).toBe('home')
    expect(pageFor('/crew')).toBe('crew')
    expect(pageFor('/crew/')).toBe('crew')
    expect(pageFor('/nope')).toBe('missing')
  })
  it('lists the crew', () => {
    expect(CREW.length).toBe(3)
  })
})
