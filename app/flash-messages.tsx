import { flash } from '../lib/session'

/**
 * The flash messages for this page (Django's `{% for message in messages %}`), shown once. It reads the
 * request, so the layout renders it behind a Suspense boundary.
 */
export async function FlashMessages() {
  const messages = await flash.messages()
  if (messages.length === 0) return null
  return (
    <ul className="messages" data-testid="flash">
      {messages.map((m, i) => (
        <li key={i} className={m.level === 'error' || m.level === 'warning' ? 'error' : 'ok'} data-level={m.level} role="status">
          {m.message}
        </li>
      ))}
    </ul>
  )
}
