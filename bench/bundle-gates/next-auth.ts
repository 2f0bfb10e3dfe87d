// next-auth 4, as its docs show: the withAuth middleware (JWT sessions).
export { default } from 'next-auth/middleware'
