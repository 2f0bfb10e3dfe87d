export default function Login() {
  return <p>Please sign in.</p>
}
