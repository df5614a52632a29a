import { useEffect, useState } from 'react'
import heroImg from './assets/hero.png'
import { CREW, pageFor } from './routes'
import './App.css'

function go(event: React.MouseEvent<HTMLAnchorElement>, setPath: (p: string) => void) {
  event.preventDefault()
  const to = event.currentTarget.getAttribute('href') ?? '/'
  window.history.pushState(null, '', to)
  setPath(to)
}

function App({ initialPath }: { initialPath?: string }) {
  const [path, setPath] = useState(initialPath ?? window.location.pathname)
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname)
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [])
  const page = pageFor(path)

  return (
    <main id="center">
      <img src={heroImg} className="base" width="170" height="179" alt="" />
      <h1 id="title">Crew board</h1>
      <nav>
        <a href="/" onClick={(e) => go(e, setPath)}>Today</a>{' '}
        <a href="/crew" id="crew-link" onClick={(e) => go(e, setPath)}>Crew</a>
      </nav>
      {page === 'home' && <p id="page">Today's jobs are on the board.</p>}
      {page === 'crew' && (
        <ul id="page">
          {CREW.map((name) => (
            <li key={name}>{name}</li>
          ))}
        </ul>
      )}
      {page === 'missing' && <p id="page">That page does not exist.</p>}
    </main>
  )
}

export default App
