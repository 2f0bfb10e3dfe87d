export default function Gated() {
  return <p>Signed in.</p>
}
