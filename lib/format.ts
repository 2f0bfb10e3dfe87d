const UNITS: [name: string, seconds: number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
]

/** 2592000 → "30 days", 5400 → "1 hour 30 minutes", 42 → "less than a minute". */
export function durationInWords(seconds: number): string {
  const parts: string[] = []
  let left = Math.max(0, Math.floor(seconds))
  for (const [name, size] of UNITS) {
    const count = Math.floor(left / size)
    left -= count * size
    if (count > 0 && parts.length < 2) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`)
  }
  return parts.length > 0 ? parts.join(' ') : 'less than a minute'
}
