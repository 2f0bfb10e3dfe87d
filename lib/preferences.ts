/** The colours the preferences form offers; anything else posted is refused. */
export const COLORS = ['red', 'green', 'blue', 'purple'] as const

/** What each demo action reports, as a flash message on the page it lands on. */
export const NOTICES = {
  'signed-in': 'Signed in. The session got a new key (acycleKey, against fixation), then the user and its expiry were written.',
  'signed-out': 'You are signed out: the session was flushed (aflush) and its cookie deleted.',
  saved: 'Saved to the session with one aupdate(): one store write and a new cookie.',
} as const
