import { test } from "vitest"
test("smoke", async () => {
  const { createSessionStore, memoryEngine, commitSession } = await import("../src/index.js"); // , memoryEngine, commitSession } from '../src/index.js'
const secret = 'x'.repeat(32)
const store = createSessionStore({ secret })
const s = store.open()
await s.aset('a', 1); await s.aset('big', 'y'.repeat(300))
const r = await commitSession(s, { hadCookie: false })
console.log(r.cookie?.value.length, r.vary)
const s2 = store.open(r.cookie!.value)
console.log(await s2.aitems().then(x=>x.map(([k,v])=>[k, String(v).slice(0,5)])), s2.modified)
const bad = store.open(r.cookie!.value.slice(0,-2)+'xx'); console.log(await bad.aitems(), bad.sessionKey)
const m = createSessionStore({ secret, engine: memoryEngine() })
const a = m.open(); await a.aset('x', {n:[1,2]}); await a.asave(); console.log(a.sessionKey)
const b = m.open(a.sessionKey); console.log(await b.aget('x'))
try { await a.aset('d', new Date() as any) } catch (e: any) { console.log(e.code, e.message) }
const enc = createSessionStore({ secret, engine: (await import('../src/index.js')).cookieEngine({encrypt:true}) })
const e = enc.open(); await e.aset('q', 'z'); await e.asave(); console.log(e.sessionKey?.slice(0,40)); console.log(await enc.open(e.sessionKey).aget('q'))
})
