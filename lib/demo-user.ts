/** The one account this demo knows; the login page shows these credentials. */
export const DEMO_USER = { username: 'ada', password: 'lovelace', name: 'Ada Lovelace' } as const
